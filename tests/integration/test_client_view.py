"""The client view on real redis-server processes: redis-py (threads) and ioredis (Node), each
installed from its package index into a cache of this test session, beside a master-pause."""

import json
import shutil

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.history import read_history
from chaos.leftovers import find
from tests.conftest import require

BASE = ["--node-timeout-ms", "1000", "--base-port", "7351", "--duration", "10", "--warmup", "2",
        "--pause-seconds", "5", "--users", "4", "--rate", "400", "--seed", "5"]


@pytest.fixture
def state_dir(torn_down, tmp_path_factory, monkeypatch):
    require("redis-server")
    if shutil.which("node") is None:
        pytest.fail("node is not installed (the Node clients of the client view need it)")
    monkeypatch.setenv("CHAOS_CLIENTS_DIR", str(tmp_path_factory.getbasetemp() / "clients"))
    return torn_down


def test_master_pause_through_redis_py_and_ioredis(state_dir, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "run", "master-pause", *BASE,
                                      "--clients", "redis-py,ioredis@5", "--out", str(out)])
    assert result.exit_code in (0, 1), result.output  # 1: a client may lose an acknowledged write (below)
    assert "client view: redis-py " in result.output and "ioredis 5." in result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert not m.get("measurement_errors"), m.get("measurement_errors")
    by = {c["client"]: c for c in m["clients"]}
    assert set(by) == {"redis-py", "ioredis"} and by["ioredis"]["version"].startswith("5.")
    promoted_after = m["failover_seconds"]
    for name, c in by.items():
        assert c["exit_code"] == 0 and not c["died_early"] and c["workers"] == 4, (name, c)
        # 40 writes a second for 10 s, less what blocked: each worker wrote
        assert c["calls"] >= 100 and c["writes"]["acknowledged"] > 50, (name, c)
        # nobody writes the victim's slots before a replica takes them over
        assert c["write_unavailable_seconds"] >= promoted_after - 0.3, (name, c["write_unavailable_seconds"])
        # the history says the same: the gap, recounted from the client's own acknowledged writes
        oks = [op.time for op in read_history(out / f"client-{c['label'].replace('@', '-')}.jsonl.zst")
               if op.type == "ok" and op.f == "write"]
        assert max(b - a for a, b in zip(oks, oks[1:])) <= c["write_unavailable_seconds_any_slot"] + 1e-6
    # redis-py's defaults have no timeout shorter than the pause: its calls to the frozen master block
    assert by["redis-py"]["longest_call_seconds"] >= 1.0 and by["redis-py"]["blocked_calls"]["over_1s"] >= 1
    # the verdict follows the clients' losses: an acknowledged write a library lost fails the run
    lost = sum(c["lost_writes"] + c["lost_increments"] for c in by.values())
    check = next(c for c in r["checks"] if c["name"] == "no_lost_writes_clients")
    assert check["status"] == ("pass" if lost == 0 else "fail") and check["value"] == lost
    assert r["passed"] is (result.exit_code == 0) and (lost == 0 or not r["passed"])
    md = (out / "report.md").read_text()
    assert "## What your application would see" in md and f"| redis-py {by['redis-py']['version']} |" in md
    # nothing of the clients outlives the run
    assert not [p for p in find(state_dir, docker=False).processes if p.kind == "load"]
    # `chaos analyze` judges the clients' histories again, to the same numbers
    again = CliRunner().invoke(cli, ["analyze", str(out)])
    assert again.exit_code == result.exit_code, again.output
    assert json.loads((out / "result.json").read_text())["measurements"]["clients"] == m["clients"]


@pytest.mark.parametrize("args,message", [
    (["run", "master-kill", "--clients", "jedis"], "unknown client 'jedis'; known: redis-py"),
    (["run", "scale-out", "--clients", "redis-py"], "--clients is measured on master-kill"),
    (["run", "master-kill", "--clients", "redis-py", "--client-rate", "0"], "--client-rate must be in"),
])
def test_bad_clients_are_refused_in_one_line_before_anything_starts(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "state" / "state.json").exists()
