"""The compressed history of schema 3 against the plain one of older runs: same records, same
verdict, a fraction of the bytes."""

import json
import shutil

from click.testing import CliRunner

from chaos.cli import cli
from tests.conftest import require


def test_compressed_history_gives_identical_measurements(state, tmp_path):
    require("redis-server")
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["--state-dir", str(state.path), "run", "master-kill", "--base-port", "7681",
                                      "--node-timeout-ms", "1000", "--duration", "6", "--warmup", "2", "--users", "8",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "history.jsonl.zst").exists() and not (out / "history.jsonl").exists()
    assert not list(out.glob("history-*.jsonl"))  # shards merged away
    summary = CliRunner().invoke(cli, ["history", str(out)]).output
    records = int(summary.split(": ")[1].split(" records")[0])
    per_record = float(summary.split(", ")[-1].split(" bytes")[0])
    assert records > 10_000 and per_record <= 30.0, summary
    # the same run as an older version wrote it: plain history.jsonl, schema 2
    old = tmp_path / "old"
    shutil.copytree(out, old)
    plain = CliRunner().invoke(cli, ["history", str(old), "--jsonl"]).output
    (old / "history.jsonl.zst").unlink()
    (old / "history.jsonl").write_text(plain)
    assert len(plain.splitlines()) == records
    r = json.loads((old / "result.json").read_text())
    r["schema_version"] = 2
    (old / "result.json").write_text(json.dumps(r))
    for d in (out, old):
        analyzed = CliRunner().invoke(cli, ["analyze", str(d)])
        assert analyzed.exit_code == 0, analyzed.output
    new_m = json.loads((out / "result.json").read_text())["measurements"]
    old_m = json.loads((old / "result.json").read_text())["measurements"]
    assert new_m == old_m
    assert new_m["lost_writes"] == 0 and new_m["failover_seconds"] is not None
