"""--repeat and `chaos report compare` on real runs of two configurations."""

import json

from click.testing import CliRunner

from chaos.cli import cli
from tests.conftest import require

BASE = ["run", "master-kill", "--base-port", "7541", "--duration", "4", "--warmup", "1.5", "--users", "6",
        "--repeat", "3"]


def test_repeat_then_compare_two_node_timeouts(state, tmp_path):
    require("redis-server")
    parents = {}
    for timeout in ("1000", "2000"):
        parents[timeout] = tmp_path / f"nt{timeout}"
        result = CliRunner().invoke(cli, ["--state-dir", str(state.path), *BASE, "--node-timeout-ms", timeout,
                                          "--label", f"nt{timeout}", "--seed", "1", "--out", str(parents[timeout])])
        assert result.exit_code == 0, result.output
        assert "3 of 3 runs passed" in result.output and (parents[timeout] / "compare.html").exists()
        seeds = [json.loads((parents[timeout] / f"run-0{i}" / "result.json").read_text())["seed"] for i in (1, 2, 3)]
        assert seeds == [1, 2, 3]
    out = tmp_path / "compare.html"
    result = CliRunner().invoke(cli, ["report", "compare", str(parents["1000"]), str(parents["2000"]), "--label",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output  # 3 against 3: no difference can be significant
    assert "baseline: nt1000; groups: nt1000 (3 runs); nt2000 (3 runs)" in result.output
    assert "warning: group 'nt1000' has 3 run(s)" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("failover_seconds "))
    medians = [float(cell.split()[0]) for cell in line.split("  ") if "n=3" in cell]
    assert len(medians) == 2 and medians[1] > medians[0]  # a longer node timeout, a slower failover
    assert "p=0.100 ~" in line
    html = out.read_text()
    assert html.count("<svg") > 5 and "run-01/report.html" in html
