from chaos.checkers import run
from chaos.checkers.availability import AvailabilityChecker
from chaos.checkers.counts import OpCounter
from chaos.checkers.latency import LatencyChecker, percentile
from chaos.checkers.writes import CounterChecker, WriteSetChecker, reader_of
from tests.unit.histories import h


def writes(history, final, batch=5000):
    checker = WriteSetChecker(reader_of(final), batch=batch)
    run(history, checker)
    return checker.result()


def test_writes_are_checked_in_batches_as_the_history_passes_with_the_same_verdict():
    ops = []
    for i in range(7):
        outcome = ("ok", "info", "fail")[i % 3]
        ops += [("invoke", 1, "write", f"k{i}", f"1:{i}", 2 * i), (outcome, 1, "write", f"k{i}", f"1:{i}", 2 * i + 1)]
    final = {"k0": "1:0", "k1": "1:1", "k2": "1:2", "k3": None, "k6": "other"}
    asked = []

    def read(keys):
        asked.append(list(keys))
        return [final.get(k) for k in keys]

    checker = WriteSetChecker(read, batch=3)
    run(h(*ops), checker)
    assert asked == [["k0", "k1", "k2"], ["k3", "k4", "k5"]]  # read while the history passes
    result = checker.result()
    assert asked[-1] == ["k6"]
    assert result == writes(h(*ops), final)  # one batch or many: the same verdict
    assert result["acknowledged"] == 3 and result["lost"] == 2 and result["lost_keys"] == ["k3", "k6"]
    assert result["recovered"] == 1 and result["failed_applied"] == 1 and result["never_acked"] == 2


def test_acknowledged_write_missing_is_lost_and_wrong_value_too():
    history = h(("invoke", 1, "write", "a", "1:0", 0.0), ("ok", 1, "write", "a", "1:0", 0.1),
                ("invoke", 1, "write", "b", "1:1", 0.2), ("ok", 1, "write", "b", "1:1", 0.3),
                ("invoke", 1, "write", "c", "1:2", 0.4), ("ok", 1, "write", "c", "1:2", 0.5))
    result = writes(history, {"a": "1:0", "b": None, "c": "other"})
    assert result["acknowledged"] == 3
    assert result["lost"] == 2 and result["lost_sample"] == ["b", "c"]
    assert result["unacked_applied"] == 0


def test_info_write_that_turns_up_is_recovered_not_lost():
    history = h(("invoke", 1, "write", "a", "1:0", 0.0), ("info", 1, "write", "a", "1:0", 1.0, "timeout"),
                ("invoke", 2, "write", "b", "2:0", 0.0), ("info", 2, "write", "b", "2:0", 1.0, "timeout"))
    result = writes(history, {"a": "1:0"})
    assert result["lost"] == 0 and result["recovered"] == 1
    assert result["unacked_applied"] == 1 and result["never_acked"] == 1


def test_fail_write_that_turns_up_is_reported():
    history = h(("invoke", 1, "write", "a", "1:0", 0.0), ("fail", 1, "write", "a", "1:0", 0.1, "CLUSTERDOWN"))
    result = writes(history, {"a": "1:0"})
    assert result["failed_applied"] == 1 and result["failed_applied_sample"] == ["a"]
    assert result["lost"] == 0


def test_write_never_completed_counts_as_indeterminate():
    result = writes(h(("invoke", 1, "write", "a", "1:0", 0.0)), {})
    assert result["indeterminate"] == 1 and result["never_acked"] == 1


def test_empty_history():
    assert writes([], {})["attempted"] == 0
    counter = CounterChecker()
    avail = AvailabilityChecker(lambda op: "all")
    lat = LatencyChecker()
    ops = OpCounter()
    run([], counter, avail, lat, ops)
    assert counter.result({})["lost_increments"] == 0
    assert avail.result() == {}
    assert lat.result() == {"run": {"count": 0, "p50": None, "p95": None, "p99": None, "p999": None, "max": None}}
    assert ops.result() == {"ok": 0, "fail": 0, "info": 0, "by_f": {}}


def test_counters_lost_and_unacknowledged_increments():
    history = h(
        ("invoke", 1, "incr", "c1", None, 0.0), ("ok", 1, "incr", "c1", 1, 0.1),
        ("invoke", 1, "incr", "c1", None, 0.2), ("ok", 1, "incr", "c1", 2, 0.3),
        ("invoke", 1, "incr", "c1", None, 0.4), ("ok", 1, "incr", "c1", 3, 0.5),
        ("invoke", 2, "incr", "c2", None, 0.0), ("info", 2, "incr", "c2", None, 0.1),
        ("invoke", 2, "incr", "c2", None, 0.2), ("fail", 2, "incr", "c2", None, 0.3),
    )
    checker = CounterChecker()
    run(history, checker)
    result = checker.result({"c1": "1", "c2": "2"})
    assert result["acknowledged_increments"] == 3
    assert result["lost_increments"] == 2
    assert result["unacked_applied_increments"] == 2
    assert result["failed_applied_increments"] == 1  # c2 = 2 but only one increment was unknown
    assert result["per_key"]["c2"] == {"acked": 0, "indeterminate": 1, "failed": 1, "final": 2}


def test_availability_windows_per_group():
    history = h(
        ("invoke", 1, "write", "a", "v", 0.0), ("ok", 1, "write", "a", "v", 0.1),
        ("invoke", 1, "write", "a", "v", 0.2), ("fail", 1, "write", "a", "v", 0.3, "CLUSTERDOWN"),
        ("invoke", 1, "write", "a", "v", 0.4), ("info", 1, "write", "a", "v", 1.4, "timeout"),
        ("invoke", 1, "write", "a", "v", 2.0), ("ok", 1, "write", "a", "v", 2.6),
        ("invoke", 2, "write", "b", "v", 0.0), ("ok", 2, "write", "b", "v", 0.2),
        ("invoke", 2, "write", "b", "v", 0.3), ("ok", 2, "write", "b", "v", 0.4),
        ("invoke", 2, "read", "b", "v", 0.5), ("fail", 2, "read", "b", "v", 5.0),
    )
    checker = AvailabilityChecker(lambda op: {"a": "m1", "b": "m2"}[op.key], fs=("write",))
    run(history, checker)
    result = checker.result()
    assert result["m1"]["longest_unavailable_seconds"] == 2.5
    assert result["m1"]["longest_window"] == [0.1, 2.6]
    assert result["m1"]["windows"] == [[0.1, 2.6]]
    assert result["m1"]["first_failure"] == 0.3 and result["m1"]["first_success_after_failure"] == 2.6
    assert result["m1"]["failed"] == 2
    assert result["m2"]["windows"] == [] and result["m2"]["failed"] == 0  # the read is not counted


def test_latency_per_phase():
    history = h(
        ("invoke", 1, "write", "a", "v", 0.0), ("ok", 1, "write", "a", "v", 0.001),
        ("invoke", 1, "write", "a", "v", 0.01), ("ok", 1, "write", "a", "v", 0.013),
        ("invoke", 1, "write", "a", "v", 5.0), ("ok", 1, "write", "a", "v", 5.5),
        ("invoke", 1, "write", "a", "v", 6.0), ("fail", 1, "write", "a", "v", 6.1),
    )
    checker = LatencyChecker([("warmup", 0.0), ("fault", 4.0)])
    run(history, checker)
    result = checker.result()
    assert result["warmup"] == {"count": 2, "p50": 1.0, "p95": 3.0, "p99": 3.0, "p999": 3.0, "max": 3.0}
    assert result["fault"]["count"] == 1 and result["fault"]["p99"] == 500.0


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99 and percentile(values, 1.0) == 100
    assert percentile([7], 0.5) == 7 and percentile([], 0.5) is None


def test_an_outage_still_open_when_the_load_stops_counts_until_the_end():
    # no replica promoted: writes to the victim's slots fail from t=1 until the load stops at t=30
    rows = [("invoke", 1, "write", "v0", "1:0", 0.9), ("ok", 1, "write", "v0", "1:0", 1.0)]
    t = 1.0
    while t < 30:
        rows += [("invoke", 1, "write", f"v{t}", "x", t + 0.05), ("fail", 1, "write", f"v{t}", "x", t + 0.1)]
        rows += [("invoke", 2, "write", f"o{t}", "y", t + 0.05), ("ok", 2, "write", f"o{t}", "y", t + 0.1)]
        t += 0.1
    checker = AvailabilityChecker(lambda op: "victim" if op.key.startswith("v") else "others")
    run(h(*rows), checker)
    result = checker.result()
    victim = result["victim"]
    assert victim["unavailable_at_end"] is True
    assert 28.9 <= victim["longest_unavailable_seconds"] <= 29.2
    assert victim["longest_window"][0] == 1.0
    assert result["others"]["unavailable_at_end"] is False
    assert result["others"]["longest_unavailable_seconds"] < 0.2


def test_an_outage_that_closed_is_not_open_at_the_end():
    history = h(("invoke", 1, "write", "a", "1", 0.0), ("ok", 1, "write", "a", "1", 0.1),
                ("invoke", 1, "write", "b", "1", 0.2), ("fail", 1, "write", "b", "1", 0.3),
                ("invoke", 1, "write", "c", "1", 2.0), ("ok", 1, "write", "c", "1", 2.1))
    checker = AvailabilityChecker(lambda op: "g")
    run(history, checker)
    g = checker.result()["g"]
    assert g["unavailable_at_end"] is False and g["longest_unavailable_seconds"] == 2.0


def test_acked_by_keeps_what_one_node_acknowledged_from_a_moment_on():
    from chaos.checkers.counts import AckedBy
    from chaos.history import Op

    def pair_(i, key, t, node, type_="ok", f="write"):
        return (Op(2 * i, t - 0.01, 0, "invoke", i, f, key), Op(2 * i + 1, t, 0, type_, i, f, key, None, node))

    acked = AckedBy("A", since=1.0)
    for inv, comp in [pair_(1, "early", 0.5, "A"), pair_(2, "k1", 1.5, "A"), pair_(3, "other", 1.6, "B"),
                      pair_(4, "failed", 1.7, "A", "fail"), pair_(5, "read", 1.8, "A", f="read"),
                      pair_(6, "k2", 3.0, "A")]:
        acked.feed(inv, comp)
    assert acked.acked == [(1.5, "k1"), (3.0, "k2")]
    assert acked.between(1.0, 2.0) == [(1.5, "k1")] and acked.between(2.0, None) == [(3.0, "k2")]
