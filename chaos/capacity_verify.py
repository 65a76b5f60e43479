"""`chaos plan redis --verify`: the plan checked against reality. The recommended master count,
and one fewer, each on a cluster of its own, take the user's peak from an open-loop generator
that reaches it: ``valkey-benchmark --rps`` (valkey-tools 9.1, in the ``chaos/valkey:9.1``
image: it needs sid's libc, so it runs in a container on the host network). Measured
throughput, client p99 and the busiest master's main-thread CPU are set beside what the plan
predicted for that count."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaos.capacity_bench import mix_rate, parse_benchmark_csv
from chaos.errors import ChaosError
from chaos.observe.cpu import server_cpu
from chaos.state import StateDir
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig

GENERATOR = "valkey:9.1"  # valkey-benchmark with --rps (redis-benchmark 7 has no rate limit)


def verify_rows(plan: dict[str, Any], measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predicted against measured, one row per master count (pure)."""
    rows = []
    by_count = {r["masters"]: r for r in plan["rows"]}
    for m in measured:
        predicted = by_count.get(m["masters"], {})
        peak = plan["peak_ops"]
        rows.append({
            "masters": m["masters"], "offered_ops": peak, "predicted_ops": peak, "measured_ops": m["ops"],
            "throughput_ratio": round(m["ops"] / peak, 3) if peak else None,
            "predicted_p99_ms": predicted.get("predicted_p99_ms"), "measured_p99_ms": m["p99_ms"],
            "predicted_main_thread_cores": predicted.get("predicted_server_cpu"),
            "measured_main_thread_cores": m["busiest_cpu"],
            # it holds when the peak was carried (within 25 %) within the user's p99 bound
            "holds": m["ops"] >= 0.75 * peak and m["p99_ms"] is not None and m["p99_ms"] <= plan["p99_bound_ms"],
        })
    return rows


def run_peak(state: StateDir, masters: int, peak: float, seconds: float, value_bytes: int, read_share: float,
             base_port: int, say: Any) -> dict[str, Any]:
    """``masters`` masters (no replicas) of a cluster of their own, ``peak`` ops/s offered for
    ``seconds``: what they carried, the client p99, each master's main-thread CPU."""
    from chaos.backends.docker import DockerBackend
    from chaos.servers import parse_server

    docker = DockerBackend(state.path)
    image = docker.require("redis", parse_server(GENERATOR, "redis"))  # a one-line error naming the build
    cluster = RedisCluster(state, RedisClusterConfig(masters=masters, replicas_per_master=0, base_port=base_port))
    cluster.up(say=say)
    try:
        seed = cluster.specs[0]
        # one command per request, no pipelining (as the sweep measured): SET then GET, each offered
        # the peak for `seconds` (at least as demanding as a mix of them at the peak)
        tests = "set,get" if read_share else "set"
        argv = ["valkey-benchmark", "-h", seed.host, "-p", str(seed.port), "--cluster", "-c", "50",
                "--rps", str(int(peak)), "--duration", f"{seconds:g}", "-d", str(value_bytes), "-r", "100000",
                "-t", tests, "--csv"]
        masters_addr = [s.address for s in cluster.specs]
        cpu0, t0 = [server_cpu(a) or 0.0 for a in masters_addr], time.monotonic()  # idle before and after
        code, output = docker.run_tool("redis", argv, Path(state.path), image=image)
        cpu1, t1 = [server_cpu(a) or 0.0 for a in masters_addr], time.monotonic()
        if code != 0:
            raise ChaosError(f"valkey-benchmark failed ({code}): {output.strip().splitlines()[-1:]}")
        figures = parse_benchmark_csv(output[output.find('"test"'):])
        rates = {k: v["rps"] for k, v in figures.items()}
        load_seconds = min(seconds * len(figures), t1 - t0)
        busiest = max((b - a) for a, b in zip(cpu0, cpu1, strict=True)) / load_seconds  # over the load
        return {"masters": masters, "ops": round(mix_rate(rates, read_share), 1),
                "p99_ms": max(v["p99"] for v in figures.values()), "busiest_cpu": round(busiest, 3)}
    finally:
        cluster.down()


def verify(state: StateDir, plan: dict[str, Any], seconds: float, value_bytes: int, read_share: float,
           base_port: int, say: Any) -> list[dict[str, Any]]:
    recommended = plan.get("recommended_masters")
    if not recommended:
        raise ChaosError("--verify needs a recommendation, and this plan made none (see its notes)")
    counts = [recommended] + ([recommended - 1] if recommended > 1 else [])
    measured = []
    for count in counts:
        say(f"verify: {count} master(s), {plan['peak_ops']:.0f} ops/s offered for {seconds:g} s by valkey-benchmark "
            "--rps")
        m = run_peak(StateDir(state.path / f"verify-{count}"), count, plan["peak_ops"], seconds, value_bytes,
                     read_share, base_port, say)
        say(f"verify: {count} master(s) carried {m['ops']:.0f} ops/s, client p99 {m['p99_ms']} ms, busiest main "
            f"thread {m['busiest_cpu']} cores")
        measured.append(m)
    return verify_rows(plan, measured)
