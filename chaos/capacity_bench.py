"""The server's knee, measured with the load generator the field uses: ``redis-benchmark``
(redis-tools; a C client, closed loop) at rising concurrency against one master, with evidence
of who was the limit at each step — the server's main thread CPU (``INFO cpu``), its own
latency (``INFO latencystats``, reset before each step), and the benchmark's CPU (its rusage).

The parsing and the judging are pure (unit-tested on literal output); :func:`benchmark_step`
runs one step against a real server."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from chaos.clients.resp import Connection, RespError
from chaos.errors import ChaosError, MissingBinary
from chaos.observe.cpu import server_cpu

CONCURRENCY = (1, 2, 4, 8, 16, 32, 64, 128, 256)
SERVER_SATURATED = 0.9  # cores of the main thread: the server is the limit
SERVER_EVIDENCE = 0.7  # cores of the main thread at the knee for the knee to be the server's
PLATEAU = 1.10  # doubling the concurrency gained less than 10 %: throughput has plateaued


@dataclass
class BenchStep:
    """One closed-loop step: ``concurrency`` connections, what they achieved, both views of p99,
    and whose CPU ran out."""

    concurrency: int
    achieved: float  # ops/s of the read/write mix
    client_p99_ms: float | None  # as redis-benchmark's connections saw it (network and queueing included)
    client_p50_ms: float | None
    server_p99_ms: float | None  # the server's own time in the command (INFO latencystats)
    server_cpu: float | None  # cores used by the server's main thread
    generator_cpu: float | None  # cores used by redis-benchmark
    generator: str = "redis-benchmark"
    passed: bool = True
    why: str = ""
    limit: str = ""  # server | load generator | neither


def parse_benchmark_csv(text: str) -> dict[str, dict[str, float]]:
    """redis-benchmark --csv (6.2+: "test","rps","avg_latency_ms","min_latency_ms",
    "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms") → {command: figures}."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows or rows[0][0] != "test":
        raise ChaosError("redis-benchmark printed no CSV table (it needs redis-tools 6.2 or later)")
    header = rows[0]
    out = {}
    for row in rows[1:]:
        figures = dict(zip(header[1:], row[1:], strict=False))
        out[row[0].split()[0].upper()] = {k.replace("_latency_ms", ""): float(v) for k, v in figures.items()}
    return out


def parse_latencystats(text: str) -> dict[str, dict[str, float]]:
    """``INFO latencystats`` (Redis 7+, Valkey): ``latency_percentiles_usec_set:p50=1.003,
    p99=2.007,p99.9=5.023`` → {"SET": {"p50": 0.001003, "p99": 0.002007, ...}} in ms."""
    out = {}
    for line in text.splitlines():
        name, _, values = line.strip().partition(":")
        if not name.startswith("latency_percentiles_usec_"):
            continue
        command = name.removeprefix("latency_percentiles_usec_").upper()
        out[command] = {k: float(v) / 1000.0 for k, v in (p.split("=") for p in values.split(",") if "=" in p)}
    return out


def mix_rate(rates: dict[str, float], read_share: float) -> float:
    """The rate of a mix of GET (``read_share``) and SET from each command's rate: the weighted
    harmonic mean (a mixed stream spends each command's share of the time on it)."""
    seconds = (1 - read_share) / rates["SET"] + read_share / rates["GET"] if read_share else 1 / rates["SET"]
    return 1 / seconds


def who_limited(step: BenchStep, cores: int | None = None) -> str:
    """The server (its main thread near a core), the load generator (redis-benchmark is one
    thread), the machine (both together near all its cores), or neither."""
    server, generator = step.server_cpu or 0.0, step.generator_cpu or 0.0
    if server >= SERVER_SATURATED:
        return "server"
    if generator >= SERVER_SATURATED:
        return "load generator"
    cores = cores or os.cpu_count() or 1
    if server + generator >= 0.8 * cores:
        return f"the machine ({server + generator:.2f} of its {cores} cores for server and load)"
    return "neither"


def judge(steps: list[BenchStep], p99_bound_ms: float, cores: int | None = None) -> None:
    """Mark each step against the client-observed p99 bound, and say who was the limit."""
    for step in steps:
        step.limit = who_limited(step, cores)
        if step.client_p99_ms is None or step.client_p99_ms > p99_bound_ms:
            step.passed, step.why = False, f"client p99 {step.client_p99_ms} ms > {p99_bound_ms:g} ms"
        else:
            step.passed, step.why = True, ""


def knee_of(steps: list[BenchStep], confirmed: BenchStep | None = None) -> dict[str, Any]:
    """The knee: the passing step of the highest throughput, and whether the server was the
    limit there — its main thread at ≥ :data:`SERVER_EVIDENCE` of a core, or a plateau (a step of
    twice and four times the concurrency both gained under 10 %). Without that evidence the knee is not the
    server's, and no master count may be recommended from it."""
    passing = [s for s in steps if s.passed]
    if not passing:
        return {"step": None, "server_limited": False, "evidence": "no step met the p99 bound"}
    best = max(passing, key=lambda s: s.achieved)
    knee = confirmed or best  # the best step, or its repeats' median (``confirmed``)
    later = [s for s in steps if s.concurrency >= 2 * knee.concurrency]
    # two doublings past it, neither gaining: one slower step alone can be a neighbour's noise
    plateau = len(later) >= 2 and all(s.achieved <= PLATEAU * best.achieved for s in later)
    cpu = knee.server_cpu or 0.0
    evidence = []
    if cpu >= SERVER_EVIDENCE:
        evidence.append(f"the server's main thread used {cpu:.2f} of a core")
    if plateau:
        evidence.append(f"throughput plateaued (×{max(s.concurrency for s in later) // knee.concurrency} "
                        f"concurrency gained under {100 * (PLATEAU - 1):.0f} %)")
    return {"step": knee, "server_limited": bool(evidence),
            "evidence": "; ".join(evidence) or f"the server's main thread used only {cpu:.2f} of a core and "
                                                "throughput was still rising"}


def usable_at_cpu(steps: list[BenchStep], knee: BenchStep, cpu_target: float) -> float:
    """Ops/s one master carries with its main thread at ``cpu_target`` cores: interpolated between
    the passing steps up to the knee (throughput against CPU), never above the knee."""
    points = sorted({(s.server_cpu or 0.0, s.achieved) for s in steps if s.passed and s.achieved <= knee.achieved})
    if not points or (knee.server_cpu or 0.0) <= cpu_target:
        return knee.achieved
    previous = (0.0, 0.0)
    for cpu, rate in points:
        if cpu >= cpu_target:
            c0, r0 = previous
            return r0 + (rate - r0) * (cpu_target - c0) / (cpu - c0) if cpu > c0 else rate
        previous = (cpu, rate)
    return knee.achieved


def _info(host: str, port: int, section: str) -> str:
    conn = Connection(host, port, timeout=5)
    try:
        return conn.call("INFO", section).decode()
    finally:
        conn.close()


def benchmark_step(address: str, concurrency: int, requests: int, value_bytes: int, read_share: float,
                   keyspace: int = 100_000) -> BenchStep:
    """``redis-benchmark -c CONCURRENCY -n REQUESTS -t set,get`` against one master (all its slots
    local: no --cluster needed), the server's main thread CPU over it, its own latency percentiles
    (reset first) and the benchmark's CPU."""
    host, _, port_text = address.rpartition(":")
    port = int(port_text)
    commands = "set,get" if read_share else "set"
    argv = ["redis-benchmark", "-h", host, "-p", str(port), "-c", str(concurrency), "-n", str(requests),
            "-d", str(value_bytes), "-r", str(keyspace), "-t", commands, "--csv"]
    conn = Connection(host, port, timeout=5)
    try:
        conn.call("CONFIG", "RESETSTAT")
    except RespError as exc:
        raise ChaosError(f"cannot reset the statistics of {address}: {exc}") from None
    finally:
        conn.close()
    cpu0, t0 = server_cpu(address), time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise MissingBinary("redis-benchmark is not installed; install it with `apt-get install -y redis-tools`") \
                from None
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu1, t1 = server_cpu(address), time.monotonic()
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise ChaosError(f"redis-benchmark failed ({proc.returncode}): {text.strip().splitlines()[-1:]}")
    figures = parse_benchmark_csv(text)
    rates = {k: v["rps"] for k, v in figures.items()}
    server = parse_latencystats(_info(host, port, "latencystats"))
    # the CPU over the time the commands ran (requests ÷ rate of each), not over the process's
    # start, its connections' set-up and the pause between SET and GET
    wall = min(t1 - t0, sum(requests / r for r in rates.values() if r)) or (t1 - t0)
    return BenchStep(
        concurrency=concurrency,
        achieved=round(mix_rate(rates, read_share), 1),
        client_p99_ms=max(v["p99"] for v in figures.values()),
        client_p50_ms=max(v["p50"] for v in figures.values()),
        server_p99_ms=round(max(v.get("p99", 0.0) for v in server.values()), 4) if server else None,
        server_cpu=round((cpu1 - cpu0) / wall, 3) if cpu0 is not None and cpu1 is not None else None,
        generator_cpu=round((usage.ru_utime + usage.ru_stime) / wall, 3),
    )


def sweep(address: str, p99_bound_ms: float, step_seconds: float, value_bytes: int, read_share: float,
          say: Any, concurrency: tuple[int, ...] = CONCURRENCY) -> list[BenchStep]:
    """Steps of doubling concurrency, each sized to last about ``step_seconds``, until the p99
    bound broke and the step after it confirmed it, or the throughput plateaued with the server
    saturated."""
    steps: list[BenchStep] = []
    rate = 5000.0
    for c in concurrency:
        requests = int(max(5000, rate * step_seconds / (2 if read_share else 1)))
        step = benchmark_step(address, c, requests, value_bytes, read_share)
        steps.append(step)
        judge(steps, p99_bound_ms)
        say(f"redis-benchmark -c {c:<3}: {step.achieved:8.0f} ops/s, client p99 {step.client_p99_ms} ms, server "
            f"p99 {step.server_p99_ms} ms, server main thread {step.server_cpu} cores, redis-benchmark "
            f"{step.generator_cpu} cores → limit: {step.limit}" + ("" if step.passed else f" ({step.why})"))
        rate = max(rate, step.achieved)
        if len(steps) >= 2 and not steps[-1].passed and not steps[-2].passed \
                and steps[-1].achieved < 1.5 * steps[-2].achieved:
            # the bound broke twice in a row and throughput no longer climbs (while it does, a broken
            # p99 at low concurrency is this machine's noise, and the knee may lie further on)
            break
        knee = knee_of(steps)
        if knee["step"] is not None and knee["server_limited"] and "plateaued" in knee["evidence"] \
                and not step.passed:
            break  # past a plateau, and past the bound
    return steps


def monotone_p99(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(ops/s, p99) of the passing steps with each p99 lowered to the lowest p99 measured at a
    higher rate: a step that served more with a lower p99 shows the slower one's was noise (a
    scheduling hiccup on a shared machine), so a prediction never rises above what a faster step
    achieved."""
    out, lowest = [], float("inf")
    for rate, p99 in sorted(points, reverse=True):
        lowest = min(lowest, p99)
        out.append((rate, lowest))
    return sorted(out)


def median_step(steps: list[BenchStep]) -> BenchStep:
    """One step from repeats of it: each figure's median (this machine's neighbours steal CPU:
    one step can come out at half another's)."""
    import statistics

    def med(name: str) -> Any:
        values = [getattr(s, name) for s in steps if getattr(s, name) is not None]
        return round(statistics.median(values), 4) if values else None

    first = steps[0]
    return BenchStep(first.concurrency, med("achieved"), med("client_p99_ms"), med("client_p50_ms"),
                     med("server_p99_ms"), med("server_cpu"), med("generator_cpu"), first.generator)


def repeat_step(address: str, concurrency: int, rate: float, step_seconds: float, value_bytes: int,
                read_share: float, times: int = 3) -> tuple[BenchStep, list[BenchStep]]:
    """``times`` steps at one concurrency, and their median."""
    requests = int(max(5000, rate * step_seconds / (2 if read_share else 1)))
    runs = [benchmark_step(address, concurrency, requests, value_bytes, read_share) for _ in range(times)]
    return median_step(runs), runs


def cross_check(address: str, value_bytes: int, read_share: float, rate: float, step_seconds: float,
                concurrency: int = 50) -> BenchStep:
    """redis-benchmark at its own default concurrency (50), independent of the sweep: the median
    of three."""
    return repeat_step(address, concurrency, rate, step_seconds, value_bytes, read_share)[0]
