"""A real Redis Cluster of local redis-server processes: up, status, kill, down."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from redis.crc import key_slot

from chaos.backends.process import pid_status
from chaos.cli import cli
from chaos.clients.resp import ClusterClient
from chaos.topology.redis_cluster import RedisCluster
from chaos.topology.redis_compare import compare_replicas
from tests.conftest import chaos, require

BASE_PORT = "7301"


@pytest.fixture
def cluster_state(state):
    require("redis-server")
    yield state
    if state.file.exists():
        CliRunner().invoke(cli, ["--state-dir", str(state.path), "down"])



def test_up_status_kill_down(cluster_state):
    state = cluster_state
    result = chaos(state, "up", "redis-cluster", "--base-port", BASE_PORT, "--node-timeout-ms", "1000")
    assert result.exit_code == 0, result.output
    assert "all 16384 slots covered" in result.output

    rows = json.loads(chaos(state, "status", "--json").output)
    assert [r["role"] for r in rows].count("master") == 3
    assert [r["role"] for r in rows].count("replica") == 3
    assert {r["address"] for r in rows} == {f"127.0.0.{11 + i}:{7301 + i}" for i in range(6)}
    covered = 0
    for r in rows:
        for part in filter(None, r["slots"].split(",")):
            lo, _, hi = part.partition("-")
            covered += int(hi or lo) - int(lo) + 1
    assert covered == 16384
    masters = {r["name"] for r in rows if r["role"] == "master"}
    assert all(r["follows"] in masters and r["link"] == "up" for r in rows if r["role"] == "replica")
    pids = [r["pid"] for r in rows]
    assert all(pid_status(p, "redis-server") == "running" for p in pids)

    again = chaos(state, "up", "redis-cluster", "--base-port", BASE_PORT)
    assert again.exit_code == 2 and "already up" in again.output

    # the final read: values in the order asked, absent keys None, a stale slot map corrected
    client = ClusterClient([r["address"] for r in rows])
    client.refresh()
    written = {f"k{{t{i}}}:{j}": f"{i}:{j}" for i in range(40) for j in range(3)}
    for key, value in written.items():
        client.call_slot(key_slot(key.encode()), "SET", key, value)
    asked = [*reversed(written), "absent{t1}", "absent{t2}"]
    one = next(r["address"] for r in rows if r["role"] == "master")
    client.slot_owner[:] = [one] * len(client.slot_owner)  # the slots of the two others answer MOVED
    assert client.read_batch(asked, per_mget=2) == [written.get(k) for k in asked]
    client.close()

    # masters against replicas, every pair at once: one replica given a key its master lacks
    cluster = RedisCluster.load(state)
    same = compare_replicas(cluster)
    assert len(same["pairs"]) == 3 and same["consistent"] and same["keys_compared"] == len(written)
    odd = next(s for s in cluster.specs if s.name == next(r["name"] for r in rows if r["role"] == "replica"))
    assert cluster.client(odd).execute_command("DEBUG", "POPULATE", "1", "extra") == "OK"
    differ = compare_replicas(cluster)
    by_replica = {p["replica"]: p for p in differ["pairs"]}
    assert not differ["consistent"] and differ["mismatches"] == 1 and by_replica[odd.name]["extra_on_replica"] == 1
    assert by_replica[odd.name]["sample"] == ["extra:0"] and by_replica[odd.name]["method"] == "digest"
    assert all(p["mismatches"] == 0 for name, p in by_replica.items() if name != odd.name)
    mine = compare_replicas(cluster, match="k{*")  # only the keys it may judge: compared DUMP by DUMP
    assert mine["consistent"] and mine["keys_compared"] == len(written)
    assert {p["method"] for p in mine["pairs"]} == {"keys matching k{*"}
    cluster.backend.kill("redis-2")
    rows = {r["name"]: r for r in json.loads(chaos(state, "status", "--json").output)}
    assert rows["redis-2"]["process"] == "stopped" and rows["redis-2"]["role"] is None
    assert rows["redis-1"]["process"] == "running"

    result = chaos(state, "down")
    assert result.exit_code == 0 and "stopped 5 node(s)" in result.output
    assert all(pid_status(p, "redis-server") == "stopped" for p in pids)
    assert not (state.path / "redis-cluster").exists()
    assert chaos(state, "down").exit_code == 0


def test_down_after_harness_was_killed_and_pause_resume(cluster_state):
    """The harness process dies (SIGKILL) after `up`; a new `chaos down` still stops its nodes."""
    state = cluster_state
    env = {**os.environ, "CHAOS_STATE_DIR": str(state.path)}
    up = subprocess.run([sys.executable, "-m", "chaos", "up", "redis-cluster", "--base-port", BASE_PORT],
                        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert up.returncode == 0, up.stderr
    cluster = RedisCluster.load(state)
    cluster.backend.pause("redis-4")
    assert cluster.backend.status("redis-4") == "paused"
    cluster.backend.resume("redis-4")
    assert cluster.backend.status("redis-4") == "running"
    cluster.backend.pause("redis-5")  # down must stop paused nodes too
    pids = [cluster.backend.pid(s.name) for s in cluster.specs]
    down = subprocess.run([sys.executable, "-m", "chaos", "down"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert down.returncode == 0, down.stderr
    assert all(pid_status(p, "redis-server") == "stopped" for p in pids)


def test_ctrl_c_during_up_leaves_nothing_running(cluster_state):
    state = cluster_state
    env = {**os.environ, "CHAOS_STATE_DIR": str(state.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "up", "redis-cluster", "--base-port", BASE_PORT],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # background jobs of a non-interactive shell (as in CI) inherit
                            # SIGINT ignored; a terminal user's chaos process does not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # interrupt once some nodes run, before the cluster is formed
        record = state.topology("redis-cluster") if state.file.exists() else None
        if record and sum(1 for n in record["nodes"] if n["handle"]) >= 2:
            break
        time.sleep(0.01)
    else:
        pytest.fail("chaos up never started a node")
    pids = [n["handle"] for n in state.topology("redis-cluster")["nodes"] if n["handle"]]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert all(pid_status(p, "redis-server") == "stopped" for p in pids)
    assert state.topology("redis-cluster") is None
