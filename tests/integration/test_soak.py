"""`chaos run soak` on redis-server processes (one cluster shared by the tests, node timeout
1 s): a seeded schedule followed to within 50 ms, every episode measured; one episode replayed
alone; a forced loss (stale) fails the run and names its episode. (A partition of a master, and
a pause, are left out of the passing soak: an isolated master acknowledges writes it then drops,
and a resumed one can answer the commands queued while it was frozen before it steps down, so
such an episode may fail by design; see the partition and master-pause scenarios.)"""

import json

import pytest

from chaos import schedule as sch
from tests.conftest import chaos, require

BASE = "7851"
COMMON = ["--base-port", BASE, "--node-timeout-ms", "1000", "--warmup", "3", "--users", "6", "--rate", "600"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require("redis-server")
    from chaos.state import StateDir

    state = StateDir(tmp_path_factory.mktemp("soak-state"))
    up = chaos(state, "up", "redis-cluster", "--base-port", BASE, "--node-timeout-ms", "1000")
    assert up.exit_code == 0, up.output
    yield state
    chaos(state, "down")


@pytest.fixture(scope="module")
def soak(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("soak") / "run"
    result = chaos(cluster, "run", "soak", *COMMON, "--duration", "45", "--faults", "kill,stop-replica",
                   "--interval", "10s±2s", "--seed", "1", "--out", str(out))
    return result, out, cluster


def test_a_seeded_soak_follows_its_schedule_and_judges_each_episode(soak):
    result, out, _ = soak
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    schedule = sch.load(out / "schedule.json")
    # the same seed draws the same schedule (the one written before the first fault)
    again = sch.build(1, "kill,stop-replica", 45.0, 10.0, 2.0, 1000, start=3.0)
    assert again.episodes == schedule.episodes
    assert [e.kind for e in schedule.episodes] == ["kill", "stop-replica", "kill"]
    eps = m["episodes"]
    assert [(e["index"], e["kind"], e["role"]) for e in eps] == [(e.index, e.kind, e.role) for e in schedule.episodes]
    lines = (out / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == len(eps)
    for e, rec in zip(eps, sorted((json.loads(x) for x in lines), key=lambda x: x["index"])):
        assert 0 <= rec["late_seconds"] < 0.05, rec  # injected within 50 ms of its offset
        assert e["outcome"] == "ok", e
        if e["role"] == "master":  # held past the node timeout (auto) or killed: a failover
            assert 1.0 <= e["failover_seconds"] <= 8.0 and e["promoted"]
            assert e["write_unavailable_seconds"] >= 0.9  # at least the node timeout without a write there
        assert e["steady_seconds"] is not None
    assert m["failovers"] == sum(1 for e in eps if e["role"] == "master")
    assert m["lost_writes"] == 0 and r["passed"]
    assert 0.5 < m["writable_fraction"] < 1.0 and m["longest_unwritable_seconds"] >= 0.9
    assert m["worst_episode"] in [e["index"] for e in eps]
    assert "## Episodes" in (out / "report.md").read_text()
    assert "schedule: " in result.output and f"episode {len(eps)} of {len(eps)} done" in result.output
    # the verdict again from the files alone: the same episodes and figures
    again_result = chaos(soak[2], "analyze", str(out))
    assert again_result.exit_code == 0, again_result.output
    redone = json.loads((out / "result.json").read_text())["measurements"]
    assert redone["episodes"] == eps and redone["writable_fraction"] == m["writable_fraction"]


def test_one_episode_replayed_alone_hits_the_same_role_right_after_the_warm_up(cluster, soak, tmp_path):
    _, first, _ = soak
    schedule = sch.load(first / "schedule.json")
    k = schedule.episodes[-1]
    out = tmp_path / "replay"
    result = chaos(cluster, "run", "soak", *COMMON, "--duration", "20", "--replay", str(first / "schedule.json"),
                   "--episode", str(k.index), "--out", str(out))
    assert result.exit_code == 0, result.output
    (e,) = json.loads((out / "result.json").read_text())["measurements"]["episodes"]
    (rec,) = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert (e["kind"], e["role"]) == (k.kind, k.role) and rec["pick"] == k.pick
    assert rec["scheduled_t"] - json.loads((out / "result.json").read_text())["context"]["soak_t0"] == \
        pytest.approx(3.0, abs=1e-3)
    assert 0 <= rec["late_seconds"] < 0.05


def test_a_forced_loss_fails_the_soak_and_names_its_episode(cluster, tmp_path):
    out = tmp_path / "stale"
    result = chaos(cluster, "run", "soak", *COMMON, "--duration", "22", "--faults", "stale", "--interval", "8s±1s",
                   "--stale-seconds", "2", "--seed", "5", "--out", str(out))
    assert result.exit_code == 1, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert not r["passed"] and m["lost_writes"] > 0
    lost = [e for e in m["episodes"] if e["lost_writes"]]
    assert lost and sum(e["lost_writes"] for e in m["episodes"]) + m["lost_writes_outside_episodes"] == \
        m["lost_writes"]
    failed = {c["name"]: c for c in r["checks"] if c["status"] != "pass"}
    assert {"no_lost_writes", "every_episode_ok"} <= set(failed)
    assert f"{lost[0]['index']}: " in str(failed["every_episode_ok"]["value"])
    assert "acknowledged write(s) lost" in str(failed["every_episode_ok"]["value"])
