"""Faults as objects on real redis-server processes: master-pause, partition, and the engine's
promise that an interrupted, terminated or crashed run heals every fault and never passes."""

import json
import os
import signal
import subprocess
import sys

import pytest
import redis
from click.testing import CliRunner

from chaos.backends.process import pid_status
from chaos.cli import cli
from chaos.engine import Do, Engine, Inject, Plan
from chaos.errors import RunCrashed
from chaos.faults import Partition, Pause
from chaos.history import pair, read_history, records
from chaos.steps.redis_cluster import RedisRunConfig, choose_node, provision_cluster
from chaos.steps.redis_failover import RedisFailoverState, set_victim
from chaos.topology.redis_cluster import RedisCluster
from tests.conftest import chaos, require
from tests.integration import evidence
from tests.lines import read_until

PORT = "7551"
BASE = ["--node-timeout-ms", "1000", "--base-port", PORT, "--duration", "9", "--warmup", "2.5", "--users", "10",
        "--seed", "11"]


@pytest.fixture
def state_dir(torn_down):
    require("redis-server")
    return torn_down



def firewall_rules():
    return subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True, check=False).stdout


def nemesis(out):
    return [(op.f, op.type) for op in read_history(out / "history.jsonl") if op.process == "nemesis"]


def test_master_pause_fails_over_then_the_resumed_master_demotes_itself(state_dir, tmp_path):
    out = tmp_path / "pause"
    result = chaos(state_dir, "run", "master-pause", *BASE, "--pause-seconds", "3.5", "--out", str(out))
    # a write the master acknowledged just before SIGSTOP may never have reached its replica (CI saw
    # 1): the run then fails on it, and only such a write may be lost
    r = evidence.assert_passed_or_lost_only_the_unreplicated_tail(out, result.output, result.exit_code)
    m = r["measurements"]
    assert r["fault"]["kind"] == "pause" and r["fault"]["pause_seconds"] == 3.5
    assert 1.0 <= m["failover_seconds"] <= 3.5  # promoted while the old master was frozen
    assert 3.4 <= m["pause_seconds"] <= 4.0
    assert m["demote_seconds"] is not None and 0 <= m["demote_seconds"] <= 2.0
    # the writes the resumed master acknowledged before it demoted itself, recounted from the history
    resumed = r["faults"][0]["healed_at"]
    demoted = resumed + m["demote_seconds"] + 1e-6
    stale = sum(1 for op in read_history(out / "history.jsonl") if op.type == "ok" and op.f == "write"
                and op.node == r["fault"]["target"] and resumed <= op.time <= demoted)
    assert m["stale_master_acknowledged_writes"] == stale
    assert m["stale_master_lost_writes"] <= m["stale_master_acknowledged_writes"]
    assert m["rejoin_seconds"] is not None and m["consistency"]["consistent"]
    assert {c["name"] for c in r["checks"]} >= {"failover_happened", "old_master_demoted", "no_lost_writes"}
    assert nemesis(out) == [("pause", "invoke"), ("pause", "ok"), ("resume", "invoke"), ("resume", "ok")]
    # while frozen the old master answered no probe; the first sample after the resume saw it
    timeline = list(records(out / "timeline.jsonl"))
    victim, t0 = r["fault"]["target_name"], r["faults"][0]["injected_at"]
    frozen = [s for s in timeline if s.get("source") == "probe" and s["node"] == victim
              and t0 + 0.5 < s["time"] < t0 + 3.0]
    assert frozen and not any(s["up"] for s in frozen)


def test_partition_minority_writes_are_counted_lost_and_match_a_recount(state_dir, tmp_path):
    out = tmp_path / "partition"
    result = chaos(state_dir, "run", "partition", *BASE, "--heal-after", "4", "--keep", "--out", str(out))
    assert result.exit_code == 1, result.output  # the isolated master's writes are lost: the run fails
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["passed"] is False and r["fault"]["kind"] == "partition"
    assert {c["name"]: c["status"] for c in r["checks"]}["no_lost_writes"] == "fail"
    assert m["minority_acknowledged_writes"] > 0 and 0 < m["minority_lost_writes"] <= m["minority_acknowledged_writes"]
    # the isolated master stops acknowledging about when it sees the cluster fail (its own log)
    assert m["minority_cluster_fail_seconds_from_log"] is not None
    assert abs(m["minority_write_window_seconds"] - m["minority_cluster_fail_seconds_from_log"]) <= 0.5
    assert 1.0 <= m["minority_write_window_seconds"] <= 1.0 + 1.5
    assert m["failover_seconds"] is not None and m["rejoin_seconds"] is not None
    assert m["consistency"]["consistent"]
    minority = [line.split() for line in (out / "minority-writes.txt").read_text().splitlines()]
    assert len(minority) == m["minority_acknowledged_writes"]
    assert sum(1 for _, _, fate in minority if fate == "lost") == m["minority_lost_writes"]
    assert ("partition", "ok") in nemesis(out) and ("heal-partition", "ok") in nemesis(out)
    again = CliRunner().invoke(cli, ["analyze", str(out)])  # recomputed from the files: the same verdict
    assert again.exit_code == 1, again.output
    m2 = json.loads((out / "result.json").read_text())["measurements"]
    for key in ("minority_acknowledged_writes", "minority_lost_writes", "minority_write_window_seconds",
                "failover_seconds", "lost_writes"):
        assert m2[key] == m[key], key
    assert "chaos-harness" not in firewall_rules()
    # an independent recount with redis-py: acknowledged keys missing from the cluster now
    acked = {i.key: i.value for i, c in pair(read_history(out / "history.jsonl"))
             if i.process != "nemesis" and i.f == "write" and c is not None and c.type == "ok"}
    cluster = RedisCluster.load(state_dir)
    client = redis.RedisCluster(host=cluster.specs[0].host, port=cluster.specs[0].port, decode_responses=True)
    try:
        keys = sorted(acked)
        values = []
        for i in range(0, len(keys), 500):
            values += client.mget_nonatomic(keys[i : i + 500])
    finally:
        client.close()
    recount = sum(1 for k, v in zip(keys, values) if v != acked[k])
    assert recount == m["lost_writes"]
    lost = set((out / "lost-writes.txt").read_text().split())
    assert {key for _, key, fate in minority if fate == "lost"} <= lost


def test_partition_of_a_replica_loses_nothing_and_it_relinks(state_dir, tmp_path):
    out = tmp_path / "replica"
    result = chaos(state_dir, "run", "partition", *BASE, "--isolate", "replica", "--heal-after", "3",
                   "--out", str(out))
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["fault"]["target_role"] == "replica" and m["minority_acknowledged_writes"] == 0
    assert m["lost_writes"] == 0 and m["rejoin_seconds"] is not None
    assert "replica_relinked" in {c["name"] for c in r["checks"]}


def run_in_background(state, out, *args):
    env = {**os.environ, "CHAOS_STATE_DIR": str(state.path)}
    return subprocess.Popen([sys.executable, "-m", "chaos", "run", *args, "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_line(proc, needle, timeout=60):
    return read_until(proc.stderr, needle, timeout)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_paused_master_resumes_it_and_the_result_does_not_pass(state_dir, tmp_path, sig):
    up = chaos(state_dir, "up", "redis-cluster", "--base-port", PORT, "--node-timeout-ms", "1000")
    assert up.exit_code == 0, up.output
    out = tmp_path / "interrupted"
    proc = run_in_background(state_dir, out, "master-pause", *BASE, "--pause-seconds", "20")
    seen = wait_for_line(proc, "paused redis-")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    r = json.loads((out / "result.json").read_text())
    assert r["interrupted"] is True and r["passed"] is False and r["checks"] == []
    assert ("resume", "ok") in nemesis(out)
    cluster = RedisCluster.load(state_dir)  # the cluster was up before: it stays up, nothing frozen
    assert all(pid_status(cluster.backend.pid(s.name), "redis-server") == "running" for s in cluster.specs)
    cluster.wait_healthy(30)


def test_interrupting_a_partition_removes_its_rules(state_dir, tmp_path):
    out = tmp_path / "cut"
    proc = run_in_background(state_dir, out, "partition", *BASE, "--heal-after", "30")
    seen = wait_for_line(proc, "partition: dropping")
    assert "chaos-harness" in firewall_rules(), seen
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert "chaos-harness" not in firewall_rules()
    r = json.loads((out / "result.json").read_text())
    assert r["interrupted"] is True and r["passed"] is False
    assert state_dir.topology("redis-cluster") is None


def crash(ctx):
    raise RuntimeError("a bug in a step")


def test_a_crash_heals_every_fault_and_the_run_does_not_pass(state_dir, tmp_path):
    """A new scenario is a plan (no engine edits): pause a master, cut it off, then crash."""
    def choose(ctx):
        set_victim(ctx, choose_node(ctx, None, "master"))

    def pause(ctx):
        return Pause(ctx.state.cluster.backend, ctx.state.victim["name"])

    def cut(ctx):
        cluster, victim = ctx.state.cluster, ctx.state.victim["name"]
        return Partition(ctx.state_dir, [cluster.spec(victim).host], [s.host for s in cluster.specs if s.name != victim])

    plan = Plan("crash-test", "pause, cut, crash", [Do(provision_cluster), Do(choose), Inject("pause", pause),
                                                   Inject("cut", cut), Do(crash)],
                measure=lambda *a: ({}, []), known=set(), headline=[], state=RedisFailoverState)
    config = RedisRunConfig(node_timeout_ms=1000, base_port=int(PORT), out=str(tmp_path / "crash"), keep=True)
    with pytest.raises(RunCrashed) as caught:
        Engine(plan, config, state_dir).run()
    assert caught.value.exit_code == 1 and "a bug in a step" in str(caught.value)
    r = json.loads((tmp_path / "crash" / "result.json").read_text())
    assert r["passed"] is False and "RuntimeError: a bug in a step" in r["error"]
    assert "Traceback" in (tmp_path / "crash" / "error.txt").read_text()
    assert nemesis(tmp_path / "crash") == [("pause", "invoke"), ("pause", "ok"), ("partition", "invoke"),
                                           ("partition", "ok"), ("heal-partition", "invoke"),
                                           ("heal-partition", "ok"), ("resume", "invoke"), ("resume", "ok")]
    assert "chaos-harness" not in firewall_rules()
    cluster = RedisCluster.load(state_dir)  # kept (--keep), and nothing left frozen
    assert all(pid_status(cluster.backend.pid(s.name), "redis-server") == "running" for s in cluster.specs)
