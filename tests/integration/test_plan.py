"""`chaos plan redis` on a real redis-server: the server's knee from redis-benchmark with the
evidence that the server was the limit, the recorder's steps beside it, memory per key,
migration rate under load, table."""

import json

from click.testing import CliRunner

from chaos import leftovers
from chaos.cli import cli
from tests.conftest import require


def test_plan_measures_and_recommends(state, tmp_path):
    require("redis-server")
    out = tmp_path / "plan"
    result = CliRunner().invoke(cli, ["--state-dir", str(state.path), "plan", "redis", "--peak-ops", "6000",
                                      "--step-seconds", "2.5", "--p99-ms", "5", "--base-port", "7451",
                                      "--keys", "2000000", "--max-memory", "256mb", "--verify", "--verify-seconds",
                                      "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    assert [r["masters"] for r in plan["rows"]] == [3, 4, 5, 6]
    bench = plan["benchmark_steps"]
    assert [b["concurrency"] for b in bench] == [2**i for i in range(len(bench))]
    assert all(b["server_cpu"] is not None and b["generator_cpu"] is not None and b["server_p99_ms"] is not None
               for b in bench)
    passing = [b for b in bench if b["passed"]]
    if not passing:  # a noisy hour can break the bound from the first step on: no knee, nothing recommended
        assert plan["knee_ops_per_master"] == 0 and plan["recommended_masters"] is None
    else:
        # the knee: the best passing step, confirmed by two more runs at its concurrency (their median)
        best = max(passing, key=lambda b: b["achieved"])
        assert plan["knee_concurrency"] == best["concurrency"]
        assert 0 < plan["knee_ops_per_master"] <= best["achieved"] * 1.5
        # the server is named the limit only with evidence; without it nothing is recommended
        plateau = "plateaued" in plan["knee_evidence"]
        if plan["server_limited"]:
            assert plan["server_cpu_at_knee"] >= 0.7 or plateau, plan["knee_evidence"]
            assert plan["client_p99_at_knee_ms"] <= 5  # the confirmed knee held the bound
            assert plan["recorder_knee_ops"] < plan["knee_ops_per_master"]
        else:  # the evidence says why (too little CPU, or the knee did not hold when repeated)
            assert any(why in plan["knee_evidence"] for why in ("only", "did not hold", "disturbed")), \
                plan["knee_evidence"]
        assert (plan["recommended_masters"] is None) == (not plan["server_limited"])
        assert plan["server_p99_at_knee_ms"] < plan["client_p99_at_knee_ms"]  # the server's own time is a part
        # an independent redis-benchmark at its defaults on the same master, in the same run (how close the
        # two come is a measurement: bench/capacity_knee.py prints it)
        assert plan["cross_check"]["concurrency"] == 50 and plan["cross_check"]["achieved"] > 0
        assert 0 < plan["capacity_per_master"] <= plan["knee_ops_per_master"]
    steps = plan["steps"]  # the recorder's own view beside it
    assert steps[0]["offered"] == 1000 and all(b["offered"] == a["offered"] * 1.5 for a, b in zip(steps, steps[1:]))
    assert all(s["generator_cpu"] is not None and s["server_cpu"] is not None for s in steps)
    assert 100 < plan["bytes_per_key"] < 400  # 100 B values and Redis' per-key overhead
    assert plan["migration_keys_per_second"] > 0
    if plan["server_limited"]:
        assert plan["recommended_masters"] == max(plan["throughput_bound"], plan["memory_bound"], 3)
    assert plan["memory_bound"] >= 2  # 2.6M keys × ~150 B do not fit one 256 MB master with headroom
    assert any("projection" in note for note in plan["notes"]) and plan["machine"]["cores"]
    said = "Recommended masters: " if plan["recommended_masters"] else "No recommendation: "  # (a noisy hour: none)
    assert said in result.output and "| masters |" in (out / "plan.md").read_text()
    assert ("Cross-check: redis-benchmark" in result.output) == bool(passing)
    assert "The server's knee" in (out / "plan.md").read_text()
    assert (out / "plan.svg").read_text().startswith("<svg")
    # --verify: the recommendation and one master fewer, offered the peak by valkey-benchmark --rps
    if plan["recommended_masters"]:
        rows = plan["verification"]
        assert [v["masters"] for v in rows] == [plan["recommended_masters"], plan["recommended_masters"] - 1]
        assert all(v["offered_ops"] == 6000 and v["measured_ops"] > 0 and v["measured_p99_ms"] is not None
                   and v["measured_main_thread_cores"] is not None for v in rows)
        assert all(v["predicted_p99_ms"] is not None or v["masters"] not in (3, 4, 5, 6) for v in rows)
        assert "verified: " in result.output and "## Verified" in (out / "plan.md").read_text()
    else:
        assert plan["verification"] is None and any("nothing to verify" in n for n in plan["notes"])
    assert not leftovers.find(state)  # its own cluster is gone
