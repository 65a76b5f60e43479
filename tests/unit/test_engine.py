"""Verdicts that cannot lie: composed checks, unknown results, SLOs replacing built-in checks,
and runs that crash or never check anything never pass."""

from chaos.checkers.compose import Check, evaluate, measure_parts
from chaos.engine import judge
from chaos.slo import parse_slo

LOST = Check("no_lost_writes", "lost_writes", lambda v: v == 0, "==0")
FAILOVER = Check("failover_happened", "failover_seconds", lambda v: v is not None)


def test_a_run_with_no_checks_does_not_pass():
    results, passed = judge([], [], {"lost_writes": 0}, finished=True)
    assert results == [] and passed is False


def test_a_run_that_did_not_finish_does_not_pass_even_if_checks_pass():
    _, passed = judge([LOST], [], {"lost_writes": 0}, finished=False)
    assert passed is False
    _, passed = judge([LOST], [], {"lost_writes": 0}, finished=True)
    assert passed is True


def test_lost_writes_fail_the_built_in_check_and_an_slo_replaces_it():
    results, passed = judge([LOST, FAILOVER], [], {"lost_writes": 2824, "failover_seconds": 2.1}, True)
    assert passed is False
    assert [(r["name"], r["status"]) for r in results] == [("no_lost_writes", "fail"), ("failover_happened", "pass")]
    budget = [parse_slo("lost_writes<=3000")]
    results, passed = judge([LOST, FAILOVER], budget, {"lost_writes": 2824, "failover_seconds": 2.1}, True)
    assert passed is True and [r["name"] for r in results] == ["failover_happened", "lost_writes<=3000"]


def test_a_measurement_part_that_raises_makes_its_checks_unknown_and_the_run_fail():
    def broken(_):
        raise ValueError("cannot parse history line 7")

    m = measure_parts([("history", broken), ("failover", lambda _: {"failover_seconds": 2.5})])
    assert "lost_writes" not in m and m["failover_seconds"] == 2.5
    assert m["measurement_errors"] == {"history": "ValueError: cannot parse history line 7"}
    results, passed = judge([LOST, FAILOVER], [], m, True)
    assert [r["status"] for r in results] == ["unknown", "pass"] and passed is False
    assert "cannot parse history line 7" in results[0]["error"]


def test_a_check_whose_predicate_raises_is_unknown():
    bad = Check("consistent", "consistency", lambda c: c["consistent"])
    [result] = evaluate([bad], {"consistency": None})
    assert result["status"] == "unknown" and result["passed"] is False and "TypeError" in result["error"]


def test_parts_see_what_earlier_parts_measured():
    m = measure_parts([("a", lambda _: {"x": 2}), ("b", lambda so_far: {"y": so_far["x"] * 3})])
    assert m == {"x": 2, "y": 6}


def test_workers_auto_leaves_a_core_to_the_servers(monkeypatch):
    import pytest

    from chaos.engine import RunConfig
    from chaos.errors import ChaosError

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    config = RunConfig(workers="auto", users=20)
    config.validate()
    assert config.workers == 7
    few = RunConfig(workers="auto", users=3)
    few.validate()
    assert few.workers == 3
    with pytest.raises(ChaosError, match="'auto'"):
        RunConfig(workers="many").validate()


def test_saturation_says_who_was_the_limit():
    from chaos.observe.cpu import saturation

    assert saturation(0.97, 1, {"a": 0.3, "b": 0.2})["generator_saturated"] is True
    assert saturation(0.97, 1, {"a": 0.95})["generator_saturated"] is False  # a server was busy too
    assert saturation(1.2, 2, {"a": 0.3})["generator_saturated"] is False  # 2 processes, 60 % each
