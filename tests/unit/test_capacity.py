"""Capacity planning on literal measurements."""

import pytest

from chaos.capacity import Measured, Step, judge_step, knee_of, parse_bytes, plan_rows, predicted_p99
from chaos.errors import ChaosError


def steps():
    raw = [Step(1000, 1000, 0.4, 0.0, 0.2, 0.3), Step(1500, 1499, 0.5, 0.0, 0.3, 0.5),
           Step(2250, 2240, 0.9, 0.0, 0.45, 0.8), Step(3375, 3100, 3.5, 0.0, 0.6, 0.97)]
    return [judge_step(s, p99_bound_ms=2.0) for s in raw]


def test_the_knee_is_the_last_step_within_bounds():
    s = steps()
    assert [x.passed for x in s] == [True, True, True, False]
    assert "p99 3.5 ms > 2 ms" in s[3].why and "achieved 3100 < 95 % of 3375" in s[3].why
    assert knee_of(s) == (2240, False)  # the server's p99 broke, not the load generator


def test_a_knee_where_the_server_was_not_saturated_is_only_a_lower_bound():
    s = [judge_step(Step(1000, 1000, 0.4, 0.0, 0.5, 0.1), 2.0),
         judge_step(Step(1500, 1200, 0.6, 0.0, 0.98, 0.15), 2.0)]  # generator at 98 % of its core, server 15 %
    assert knee_of(s) == (1000, True)
    assert knee_of(steps()[:3])[1] is True  # never failed: the knee is above the last step


def test_errors_above_a_tenth_of_a_percent_fail_a_step():
    assert not judge_step(Step(1000, 1000, 0.4, 0.002), 2.0).passed


def test_predicted_p99_interpolates_and_never_extrapolates():
    s = steps()
    assert predicted_p99(s, 1250) == pytest.approx(0.45, abs=0.01)
    assert predicted_p99(s, 500) == 0.4
    assert predicted_p99(s, 3000) is None


def test_rows_and_recommendation():
    m = Measured(steps(), bytes_per_key=150.0, keys_per_second=10_000, bytes_per_second=1.5e6, knee=2240)
    plan = plan_rows(m, peak_ops=5000, keys=1_000_000, masters=[3, 4, 5, 6], growth=0.3, headroom=0.3,
                     memory_budget=1e9)
    # 5000 × 1.3 = 6500 ops/s; a master may carry 2240 × 0.7 = 1568 → 5 masters
    assert plan["throughput_bound"] == 5 and plan["recommended_masters"] == 5
    assert plan["memory_bound"] == 1  # 195 MB against 1 GB × 0.75 × 0.7
    by = {r["masters"]: r for r in plan["rows"]}
    assert by[4]["fits"] is False and by[5]["fits"] is True
    assert by[5]["ops_per_master"] == 1300.0 and by[5]["share_of_knee"] == pytest.approx(0.580, abs=0.001)
    assert by[3]["predicted_p99_ms"] is not None and by[3]["predicted_p99_ms"] > by[6]["predicted_p99_ms"]
    assert by[4]["slots_to_move"] == 4096 and by[4]["reshard_seconds"] == pytest.approx(32.5)
    assert by[6]["scale_in_to_safe"] is True and by[3]["scale_in_to_safe"] is False


def test_three_masters_at_least():
    m = Measured(steps(), 100.0, 10_000, 1e6, knee=100_000)
    assert plan_rows(m, 10, 10, [3], 0.0, 0.3, 1e9)["recommended_masters"] == 3


@pytest.mark.parametrize("text, value", [("512mb", 512 * 10**6), ("2GB", 2 * 10**9), ("1gib", 1024**3),
                                         ("1073741824", 1073741824), ("1.5g", int(1.5 * 1024**3))])
def test_sizes(text, value):
    assert parse_bytes(text) == value


def test_bad_size():
    with pytest.raises(ChaosError, match="512mb"):
        parse_bytes("lots")
