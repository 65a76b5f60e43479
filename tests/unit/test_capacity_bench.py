"""The server's knee from redis-benchmark steps, on literal output and literal steps."""

import pytest

from chaos import capacity_bench as cb
from chaos.capacity import Measured, plan_rows

CSV = '''"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","69252.08","0.196","0.040","0.183","0.287","0.335","1.207"
"GET","80000.00","0.170","0.032","0.151","0.263","0.311","0.983"
'''

LATENCYSTATS = """# Latencystats\r
latency_percentiles_usec_set:p50=1.003,p99=2.007,p99.9=5.023\r
latency_percentiles_usec_get:p50=0.801,p99=1.503,p99.9=3.007\r
latency_percentiles_usec_config|resetstat:p50=5.023,p99=5.023,p99.9=5.023\r
"""


def step(c, achieved, p99, cpu, gen=0.5, server_p99=0.03):
    return cb.BenchStep(c, achieved, p99, p99 / 3, server_p99, cpu, gen)


def test_redis_benchmark_csv_and_latencystats_are_read():
    figures = cb.parse_benchmark_csv(CSV)
    assert figures["SET"]["rps"] == 69252.08 and figures["GET"]["p99"] == 0.311 and figures["SET"]["p50"] == 0.183
    stats = cb.parse_latencystats(LATENCYSTATS)
    assert stats["SET"]["p99"] == pytest.approx(0.002007) and stats["GET"]["p99.9"] == pytest.approx(0.003007)
    with pytest.raises(Exception, match="no CSV"):
        cb.parse_benchmark_csv("SET: 1000 requests per second\n")


def test_the_mix_rate_is_the_weighted_harmonic_mean():
    # 70 % SET at 60k/s and 30 % GET at 90k/s: 0.7/60k + 0.3/90k seconds an operation
    assert cb.mix_rate({"SET": 60_000, "GET": 90_000}, 0.3) == pytest.approx(1 / (0.7 / 60_000 + 0.3 / 90_000))
    assert cb.mix_rate({"SET": 60_000}, 0.0) == 60_000


def test_the_knee_is_the_servers_only_with_evidence():
    steps = [step(1, 11_000, 0.3, 0.43), step(2, 22_000, 0.5, 0.52), step(4, 60_000, 0.6, 0.80),
             step(8, 70_000, 0.9, 0.88), step(16, 72_000, 2.5, 0.90), step(32, 66_000, 3.1, 0.85)]
    cb.judge(steps, 2.0, cores=2)
    assert [s.passed for s in steps] == [True, True, True, True, False, False]
    assert steps[4].why == "client p99 2.5 ms > 2 ms" and steps[4].limit == "server"
    knee = cb.knee_of(steps)
    assert knee["step"].concurrency == 8 and knee["server_limited"]
    assert "0.88 of a core" in knee["evidence"] and "plateaued" in knee["evidence"]
    # a sweep that only reached a third of a core with throughput still rising: not the server's knee
    weak = [step(1, 3_000, 0.5, 0.1, gen=0.3), step(2, 5_000, 1.0, 0.2, gen=0.4), step(4, 9_000, 2.4, 0.3, gen=0.5)]
    cb.judge(weak, 2.0, cores=8)
    assert cb.knee_of(weak)["server_limited"] is False and "still rising" in cb.knee_of(weak)["evidence"]
    assert cb.knee_of([])["step"] is None


def test_who_was_the_limit():
    assert cb.who_limited(step(1, 1, 0.1, 0.95, gen=0.5), cores=2) == "server"
    assert cb.who_limited(step(1, 1, 0.1, 0.5, gen=0.95), cores=2) == "load generator"
    assert cb.who_limited(step(1, 1, 0.1, 0.8, gen=0.85), cores=2).startswith("the machine (1.65 of its 2")
    assert cb.who_limited(step(1, 1, 0.1, 0.3, gen=0.3), cores=2) == "neither"


def test_capacity_at_the_cpu_target_is_interpolated_and_never_above_the_knee():
    steps = [step(1, 10_000, 0.3, 0.4), step(2, 40_000, 0.5, 0.6), step(4, 60_000, 0.6, 0.9), step(8, 62_000, 3, 0.9)]
    cb.judge(steps, 2.0, cores=2)
    knee = cb.knee_of(steps)["step"]
    assert cb.usable_at_cpu(steps, knee, 0.8) == pytest.approx(40_000 + 20_000 * (0.2 / 0.3))
    assert cb.usable_at_cpu(steps, knee, 0.95) == 60_000  # the knee came first


def test_predicted_p99_never_rises_above_what_a_faster_step_achieved():
    assert cb.monotone_p99([(10_000, 0.33), (20_000, 2.0), (60_000, 0.2), (70_000, 0.9)]) == [
        (10_000, 0.2), (20_000, 0.2), (60_000, 0.2), (70_000, 0.9)]


def test_no_recommendation_from_a_knee_that_is_not_the_servers():
    m = Measured([], bytes_per_key=200.0, keys_per_second=10_000, bytes_per_second=2e6, knee=5_000,
                 knee_is_lower_bound=True, usable=5_000)
    plan = plan_rows(m, peak_ops=50_000, keys=100_000, masters=[3, 4], growth=0.3, headroom=0.3, memory_budget=1e9)
    assert plan["recommended_masters"] is None and plan["throughput_bound"] == 13  # shown, never recommended
    server = Measured([], 200.0, 10_000, 2e6, knee=70_000, usable=56_000, p99_points=[(10_000, 0.2), (70_000, 0.9)],
                      cpu_points=[(10_000, 0.3), (70_000, 0.9)])
    plan = plan_rows(server, 50_000, 100_000, [3, 4], 0.3, 0.3, 1e9)
    # 65 000 ops/s with growth over 56 000 a master: 2 → at least 3
    assert plan["throughput_bound"] == 2 and plan["recommended_masters"] == 3 and plan["capacity_per_master"] == 56_000
    row = {r["masters"]: r for r in plan["rows"]}[3]
    assert row["predicted_server_cpu"] == pytest.approx(0.3 + 0.6 * (21_666.7 - 10_000) / 60_000, abs=0.001)
    assert row["fits"] is True


def test_verification_sets_measured_beside_predicted():
    from chaos.capacity_verify import verify_rows

    plan = {"peak_ops": 50_000, "p99_bound_ms": 2.0,
            "rows": [{"masters": 2, "predicted_p99_ms": 0.3, "predicted_server_cpu": 0.6},
                     {"masters": 3, "predicted_p99_ms": 0.25, "predicted_server_cpu": 0.5}]}
    rows = verify_rows(plan, [{"masters": 3, "ops": 49_100.0, "p99_ms": 0.9, "busiest_cpu": 0.41},
                              {"masters": 2, "ops": 30_000.0, "p99_ms": 12.0, "busiest_cpu": 0.99}])
    assert rows[0]["throughput_ratio"] == 0.982 and rows[0]["holds"] and rows[0]["predicted_p99_ms"] == 0.25
    assert rows[1]["holds"] is False and rows[1]["predicted_main_thread_cores"] == 0.6
    slow = verify_rows(plan, [{"masters": 3, "ops": 50_000.0, "p99_ms": 4.2, "busiest_cpu": 0.4}])
    assert slow[0]["holds"] is False  # the peak carried, but beyond the p99 bound
