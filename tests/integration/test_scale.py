"""scale-out 3→4 and scale-in 4→3 under load on real redis-server processes, and a reshard that
is interrupted halfway leaves no slot open."""

import json
import os
import signal
import subprocess
import sys

import pytest

from chaos.history import records
from chaos.steps.scale_end_state import end_state
from chaos.topology.redis_cluster import RedisCluster
from tests.conftest import chaos, require
from tests.lines import read_until

PORT = "7591"
BASE = ["--base-port", PORT, "--duration", "6", "--warmup", "2", "--users", "10", "--preload-keys", "40000",
        "--after", "2", "--seed", "5"]


@pytest.fixture
def state_dir(torn_down):
    require("redis-server")
    return torn_down



END_CHECKS = {"every_slot_owned_once", "nodes_agree_on_slots", "no_open_slots", "no_misplaced_keys", "replicas_linked",
              "cluster_ok_everywhere", "no_lost_writes", "no_lost_increments", "no_preloaded_key_lost", "slots_balanced"}


def test_scale_out_then_scale_in_under_load(state_dir, tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CHAOS_CLIENTS_DIR", str(tmp_path_factory.getbasetemp() / "clients"))
    up = chaos(state_dir, "up", "redis-cluster", "--base-port", PORT)
    assert up.exit_code == 0, up.output
    out = tmp_path / "out"
    result = chaos(state_dir, "run", "scale-out", *BASE, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "scale-out: 4096/4096 slots" in result.output  # live progress
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert {c["name"] for c in r["checks"] if c["status"] == "pass"} == END_CHECKS
    assert m["slots_moved"] == 4096 and m["keys_migrated"] >= 40000 // 4 and m["bytes_migrated"] > m["keys_migrated"] * 100
    assert m["migration_seconds"] > 0 and m["keys_per_second"] > 0
    assert 0 < m["slot_seconds"]["p50"] <= m["slot_seconds"]["p99"] <= m["slot_seconds"]["max"]
    assert m["client_redirects"]["moved"] > 0 and m["server_redirects"]["moved"] > 0
    assert set(m["latency_ms"]) == {"warmup", "join", "migration", "after"} and "p999" in m["latency_ms"]["migration"]
    assert m["ops_per_second"]["before"] > 0 and m["throughput_dip"] is not None
    assert m["lost_writes"] == 0 and m["end_state"]["slot_imbalance"] <= 0.02
    assert sorted(m["end_state"]["slots_per_master"].values()) == [4096] * 4
    steps = {e["event"]: e["time"] for e in records(out / "timeline.jsonl") if e["source"] == "step"}
    order = ["nodes_started", "nodes_joined", "nodes_replicas_linked", "nodes_agreed", "migration_started",
             "migration_finished", "settled"]
    assert [steps[e] for e in order] == sorted(steps[e] for e in order)  # every step timestamped, in order
    moved = [json.loads(line) for line in (out / "reshard.jsonl").open()]
    assert len(moved) == 4096 and {x["target"] for x in moved} == {"127.0.0.17:7597"}
    cluster = RedisCluster.load(state_dir)
    assert len(cluster.specs) == 8 and cluster.config.masters == 4
    again = chaos(state_dir, "analyze", str(out))  # the verdict recomputed from the files
    assert again.exit_code == 0, again.output
    r2 = json.loads((out / "result.json").read_text())
    assert r2["measurements"] == m and r2["checks"] == r["checks"]  # the method too (the half-moved check needs it)

    out = tmp_path / "in"
    # scale-in with the client view: ASK and MOVED through redis-py and ioredis while the slots move
    result = chaos(state_dir, "run", "scale-in", *BASE, "--remove", "redis-7", "--clients", "redis-py,ioredis@5",
                   "--out", str(out))
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert {c["name"] for c in r["checks"] if c["status"] == "pass"} == \
        END_CHECKS | {"removed_nodes_forgotten", "no_lost_writes_clients", "clients_ran"}
    assert m["clients_context"] == {"slots": "the moved slots", "any": "any slot", "recovery_from": "the migration began"}
    for c in m["clients"]:
        assert c["calls"] > 50 and c["lost_writes"] == 0 and c["write_unavailable_seconds"] is not None, c
        assert c["write_gap_before_fault_seconds"] is not None
    assert m["slots_moved"] == 4096 and m["lost_writes"] == 0
    assert m["end_state"]["nodes_knowing_removed"] == 0
    cluster = RedisCluster.load(state_dir)
    assert [s.name for s in cluster.specs] == [f"redis-{i}" for i in range(1, 7)]
    assert end_state(cluster)["open_slots"] == 0 and cluster.health_problems() == []


def test_scale_in_refuses_a_memory_budget_it_would_break(state_dir, tmp_path):
    result = chaos(state_dir, "run", "scale-in", *BASE, "--max-memory", "1mb", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "refusing to scale in" in result.output and "over its budget of 1.0 MB" in result.output
    assert state_dir.topology("redis-cluster") is None  # nothing left running


def test_an_interrupted_reshard_leaves_no_slot_open(state_dir, tmp_path):
    up = chaos(state_dir, "up", "redis-cluster", "--base-port", PORT)
    assert up.exit_code == 0, up.output
    out = tmp_path / "cut-short"
    env = {**os.environ, "CHAOS_STATE_DIR": str(state_dir.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", "scale-out", *BASE, "--preload-keys", "200000",
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = read_until(proc.stderr, "/4096 slots", 90)  # "scale-out: N/4096 slots, ..."
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, seen + err
    r = json.loads((out / "result.json").read_text())
    assert r["interrupted"] is True and r["passed"] is False
    cluster = RedisCluster.load(state_dir)
    state = end_state(cluster)
    assert state["open_slots"] == 0 and state["slots_owned_once"] and state["misplaced_keys"] == 0
