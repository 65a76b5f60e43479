"""`chaos suite` on real redis-server processes: a two-fault suite file, Ctrl-C in the middle
(the finished run kept, the report marked incomplete), `--resume` to finish it, and every figure
of the scorecard equal to the one in its run's result.json."""

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from tests.conftest import require
from tests.lines import read_until

SUITE = """name = "two"
[defaults]
node-timeout-ms = 1000
base-port = 7381
duration = 6
warmup = 2
users = 4
rate = 300

[[run]]
scenario = "master-kill"
slo = ["write_unavailable_seconds<=8"]

[[run]]
scenario = "partition"
name = "partition-replica"
options = { isolate = "replica", heal-after = 2 }

[[run]]
scenario = "master-kill"
name = "kill-missing"
options = { target = "redis-99" }
"""


@pytest.fixture
def state_dir(torn_down):
    require("redis-server")
    return torn_down


def test_a_suite_interrupted_then_resumed_writes_one_report_of_its_runs(state_dir, tmp_path):
    suite = tmp_path / "two.toml"
    suite.write_text(SUITE)
    out = tmp_path / "suite"
    env = {**os.environ, "CHAOS_STATE_DIR": str(state_dir.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "suite", "--suite", str(suite), "--out", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = read_until(proc.stderr, "run 2 of 3: partition-replica", 120)
    assert "about" in seen.splitlines()[-1]  # the time left, from the first run's
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert "suite incomplete: 1 of 3 runs finished" in stdout, stdout
    card = json.loads((out / "resilience.json").read_text())
    assert card["complete"] is False and [r["runs"] for r in card["rows"]] == [1, 0, 0]
    assert "INCOMPLETE" in (out / "resilience.md").read_text()

    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "suite", "--resume", str(out)])
    # a run refused before any fault (no such node) is said, left out, and the suite not called complete
    assert result.exit_code == 1, result.output
    assert "run 1 of 3" not in result.output and "run 2 of 3: partition-replica" in result.output
    assert "--target redis-99: no such node" in result.output and "refused: kill-missing" in result.output
    card = json.loads((out / "resilience.json").read_text())
    assert card["complete"] is False and [r["runs"] for r in card["rows"]] == [1, 1, 0]
    assert [s["name"] for s in card["skipped"]] == ["kill-missing"] and "no such node" in card["skipped"][0]["why"]
    assert "Not run: kill-missing (refused: --target redis-99: no such node" in (out / "resilience.md").read_text()
    kill, part, _ = card["rows"]
    # every figure is its run's own (n = 1: the median and the worst are the run's value)
    for row, key in ((kill, "write_unavailable_seconds"), (part, None)):
        (run_dir,) = row["run_dirs"]
        r = json.loads((out / run_dir / "result.json").read_text())
        m = r["measurements"]
        assert row["passed"] == (1 if r["passed"] else 0)
        if key:
            assert row["write_outage_seconds"]["median"] == row["write_outage_seconds"]["worst"] == \
                pytest.approx(m[key], abs=1e-6)
            assert row["recovery_seconds"]["median"] == pytest.approx(m["failover_seconds"], abs=1e-6)
        assert row["lost_acknowledged"] == sum(int(m.get(k) or 0) for k in ("lost_writes", "lost_increments"))
    assert kill["slos"][0]["slo"] == "write_unavailable_seconds<=8" and kill["slos"][0]["of"] == 1
    assert any(x["fault"] == "master-kill" and "cluster-node-timeout 1000 ms" in x["because"]
               for x in card["recommendations"])
    page = (out / "resilience.html").read_text()
    assert f"{kill['run_dirs'][0]}/report.html" in page and "Scorecard" in page
    # the interrupted run (if it had begun) was set aside, not counted
    assert all(".interrupted-" not in d for row in card["rows"] for d in row["run_dirs"])
