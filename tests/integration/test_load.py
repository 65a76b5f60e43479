"""`chaos load redis` on a real cluster: one load process and Locust master/worker mode."""

import json

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.history import pair, read_history
from tests.conftest import require


@pytest.fixture
def cluster(torn_down):
    require("redis-server")
    up = CliRunner().invoke(cli, ["--state-dir", str(torn_down.path), "up", "redis-cluster", "--base-port", "7601"])
    assert up.exit_code == 0, up.output
    return torn_down


@pytest.mark.parametrize("workers", [1, 2])
def test_load_records_every_attempt_and_loses_nothing(cluster, tmp_path, workers):
    out = tmp_path / f"load{workers}"
    result = CliRunner().invoke(cli, ["--state-dir", str(cluster.path), "load", "redis", "--duration", "3",
                                      "--users", "8", "--workers", str(workers), "--master-port", "5599",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 lost" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["writes"]["acknowledged"] > 500 and summary["writes"]["lost"] == 0
    assert summary["ops"]["fail"] == 0 and summary["ops"]["info"] == 0
    history = list(read_history(out / "history.jsonl"))
    assert [op.index for op in history] == list(range(len(history)))
    assert all(a.time <= b.time for a, b in zip(history, history[1:]))
    pairs = list(pair(history))  # raises if one process ever had two operations in flight
    assert all(c is not None for _, c in pairs)
    assert {op.f for op in history} == {"write", "read", "incr"}
    processes = {op.process for op in history}
    assert len(processes) == 8
    assert {p // 100_000 for p in processes} == set(range(workers))  # every worker ran users
    # every master got writes: the hash tags spread keys over all slot ranges
    nodes = {op.node for op in history if op.type == "ok" and op.f == "write"}
    assert nodes == {"127.0.0.11:7601", "127.0.0.12:7602", "127.0.0.13:7603"}
