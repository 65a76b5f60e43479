"""The integration tests' recount of which writes a SIGKILLed master could lose, on literal files."""

import json

import pytest

from tests.integration.evidence import assert_passed_or_lost_only_the_unreplicated_tail, unreplicated_tail

MASTER, REPLICA = "127.0.0.11:7951", "127.0.0.14:7954"


def probe(time, address, offset=None, role="master", master=None):
    if offset is None:
        return {"source": "probe", "time": time, "address": address, "up": False}
    return {"source": "probe", "time": time, "address": address, "up": True, "role": role, "master": master,
            "offset": offset}


def write_run(out, lost, passed, lost_increments=0):
    timeline = [
        probe(1.00, MASTER, 100), probe(1.00, REPLICA, 100, "replica", MASTER),
        probe(1.01, MASTER, 180), probe(1.01, REPLICA, 180, "replica", MASTER),  # last time in step
        probe(1.02, MASTER, None), probe(1.02, REPLICA, 180, "replica", MASTER),  # killed
        probe(3.00, MASTER, 50),  # restarted, still a master with a lower offset: not a sync point
        probe(3.00, REPLICA, 400, "master"),
    ]
    (out / "timeline.jsonl").write_text("".join(json.dumps(s) + "\n" for s in timeline))
    ops = []
    for i, (process, invoke, done, key, f) in enumerate([(1, 1.005, 1.006, "early", "write"),
                                                         (2, 1.012, 1.013, "tail", "write"),
                                                         (3, 1.0121, 1.0131, "counter", "incr")]):
        common = {"process": process, "f": f, "key": key, "value": key, "wall": 0, "error": None}
        ops.append({**common, "index": 2 * i, "time": invoke, "type": "invoke", "node": None})
        ops.append({**common, "index": 2 * i + 1, "time": done, "type": "ok", "node": MASTER})
    (out / "history.jsonl").write_text("".join(json.dumps(op) + "\n" for op in ops))
    (out / "lost-writes.txt").write_text("".join(k + "\n" for k in lost))
    checks = [{"name": "no_lost_writes", "passed": not lost}, {"name": "no_lost_increments", "passed": not lost_increments},
              {"name": "failover_happened", "passed": True}]
    (out / "result.json").write_text(json.dumps({
        "passed": passed, "checks": checks, "fault": {"target": MASTER},
        "measurements": {"promoted": REPLICA, "lost_writes": len(lost), "lost_increments": lost_increments}}))


def test_only_writes_acknowledged_after_the_last_sample_in_step_can_be_lost(tmp_path):
    write_run(tmp_path, ["tail"], passed=False)
    assert unreplicated_tail(tmp_path) == {"tail"}
    assert assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 1)["passed"] is False


def test_a_write_the_replica_had_cannot_be_lost(tmp_path):
    write_run(tmp_path, ["early"], passed=False)
    with pytest.raises(AssertionError, match="early"):
        assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 1)


def test_a_loss_with_a_passed_verdict_is_refused(tmp_path):
    write_run(tmp_path, ["tail"], passed=True)
    with pytest.raises(AssertionError):
        assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 0)


def test_no_loss_must_pass(tmp_path):
    write_run(tmp_path, [], passed=True)
    assert assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 0)["passed"]
    with pytest.raises(AssertionError):
        assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 1)


def test_increments_lost_with_the_tail_are_accepted_up_to_those_acknowledged_after_the_sync(tmp_path):
    write_run(tmp_path, ["tail"], passed=False, lost_increments=1)  # the one INCR acknowledged after the sync
    assert assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 1)["passed"] is False
    write_run(tmp_path, [], passed=False, lost_increments=1)
    assert assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 1)["passed"] is False
    write_run(tmp_path, ["tail"], passed=False, lost_increments=2)  # more than the replica can have missed
    with pytest.raises(AssertionError, match="2 increments lost, 1 acknowledged"):
        assert_passed_or_lost_only_the_unreplicated_tail(tmp_path, "", 1)
