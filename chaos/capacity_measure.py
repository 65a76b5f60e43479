"""`chaos plan redis`: measure what one master carries on this machine, what a key costs in
memory and how fast slots move, then project master counts for a given peak (see
:mod:`chaos.capacity` for the pure projection).

It runs on a cluster of its own (state under ``<state dir>/plan``, its own ports), never on the
cluster that is up, and stops it at the end."""

from __future__ import annotations

import ipaddress
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chaos import capacity_bench
from chaos.capacity import Measured, Step, judge_step, knee_of, plan_rows
from chaos.checkers import run as run_checkers
from chaos.checkers.latency import LatencyChecker
from chaos.clients.resp import ClusterClient
from chaos.errors import ChaosError
from chaos.history import read_history
from chaos.observe.cpu import cpu_seconds, server_cpu
from chaos.runner import Run, make_run_dir, merge_run_history, start_load, write_json
from chaos.state import StateDir
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig
from chaos.topology.reshard import Reshard, summarize
from chaos.topology.reshard_plan import owners_by_master, plan_rebalance

Say = Callable[[str], None]


@dataclass
class PlanConfig:
    peak_ops: float
    read_share: float = 0.3
    p99_ms: float = 2.0
    keys: int | None = None  # default 100000 measured here, or the sampled cluster's key count
    value_bytes: int = 100
    sample: str | None = None
    growth: float = 0.3
    headroom: float = 0.3  # of memory kept free (and of the knee, where no CPU-based capacity exists)
    cpu_target: float = 0.8  # cores of one master's main thread the plan may use (managed services: 80 %)
    masters: list[int] = field(default_factory=lambda: [3, 4, 5, 6])
    max_memory: int | None = None  # bytes per master
    step_seconds: float = 5.0
    workers: int = 1
    base_port: int = 7401
    out: str | None = None
    max_steps: int = 12
    verify: bool = False  # run the recommendation (and one master fewer) at the peak
    verify_seconds: float = 10.0

    def validate(self) -> None:
        if self.peak_ops <= 0:
            raise ChaosError("--peak-ops must be positive")
        if not 0 <= self.read_share <= 1 or self.growth < 0 or not 0 <= self.headroom < 1:
            raise ChaosError("--read-share must be in [0, 1], --growth not negative, --headroom in [0, 1)")
        if self.p99_ms <= 0 or self.step_seconds < 2 or self.value_bytes < 1:
            raise ChaosError("--p99-ms must be positive, --step-seconds at least 2, --value-bytes at least 1")
        if not 1 <= self.workers <= 16:
            raise ChaosError("--workers must be between 1 and 16")
        if not self.masters or min(self.masters) < 1:
            raise ChaosError("--masters must list master counts such as 3,4,5,6")
        if not 0.1 <= self.cpu_target <= 1.0:
            raise ChaosError("--cpu-target is a share of one core for a master's main thread: between 0.1 and 1")


def preload(seeds: list[str], count: int, value_bytes: int, prefix: str) -> None:
    client = ClusterClient(seeds, timeout=10)
    client.refresh()
    from redis.crc import key_slot

    by_node: dict[str, list[str]] = {}
    for i in range(count):
        key = f"{prefix}{i}"
        by_node.setdefault(client.node_for_slot(key_slot(key.encode())), []).append(key)
    value = "x" * value_bytes
    for node, keys in by_node.items():
        for i in range(0, len(keys), 2000):
            client.conn(node).call_many([("SET", k, value) for k in keys[i : i + 2000]])
    client.close()


def sample_cluster(url: str) -> tuple[float, int]:
    """(mean MEMORY USAGE of up to 1000 keys, keys on all masters) of a real cluster on loopback."""
    parsed = urlparse(url)
    if parsed.scheme != "redis" or not parsed.hostname or not parsed.port:
        raise ChaosError(f"--sample {url!r}: write it as redis://HOST:PORT")
    if not ipaddress.ip_address(parsed.hostname).is_loopback:
        raise ChaosError(f"--sample {parsed.hostname}: the harness only talks to loopback addresses")
    client = ClusterClient([f"{parsed.hostname}:{parsed.port}"], timeout=5)
    try:
        if not client.refresh():
            raise ChaosError(f"--sample {url}: no Redis Cluster node answers there")
        usages, total = [], 0
        for master in sorted(set(a for a in client.slot_owner if a)):
            conn = client.conn(master)
            total += conn.call("DBSIZE")
            cursor, keys = b"0", list[bytes]()
            while len(keys) < 1000 // 3 + 1:
                cursor, batch = conn.call("SCAN", cursor, "COUNT", 500)
                keys += batch
                if cursor == b"0":
                    break
            if keys:
                usages += [u for u in conn.call_many([("MEMORY", "USAGE", k) for k in keys]) if isinstance(u, int)]
    finally:
        client.close()
    if not usages:
        raise ChaosError(f"--sample {url}: the cluster holds no keys to sample")
    return sum(usages) / len(usages), total


class Planner:
    def __init__(self, state: StateDir, config: PlanConfig, say: Say):
        config.validate()
        self.config, self.say = config, say
        self.state = StateDir(state.path / "plan")
        if config.out and (Path(config.out) / "plan.json").exists():
            raise ChaosError(f"{config.out} already holds a plan; choose another --out")
        if config.verify:  # before a minute of measuring: the generator --verify needs is there
            from chaos.backends.docker import DockerBackend
            from chaos.capacity_verify import GENERATOR
            from chaos.servers import parse_server

            DockerBackend(state.path).require("redis", parse_server(GENERATOR, "redis"))
        self.dir = make_run_dir("plan-redis", config.out)
        self.steps: list[Step] = []

    def run(self) -> dict[str, Any]:
        c = self.config
        started = time.monotonic()
        if self.state.topology("redis-cluster") is not None:  # left by a plan that was killed: its own, so stop it
            self.say(f"stopping the planning cluster an earlier `chaos plan` left in {self.state.path}")
            RedisCluster.load(self.state).down()
        cluster = RedisCluster(self.state, RedisClusterConfig(masters=1, replicas_per_master=0, base_port=c.base_port))
        self.say(f"starting one master on {cluster.specs[0].address} to measure (its own cluster)")
        cluster.up(say=self.say)
        try:
            measured = self.measure(cluster)
        finally:
            cluster.down()
        budget, budget_from = self.memory_budget()
        keys = c.keys if c.keys is not None else (self.sampled_keys if c.sample else 100_000)
        projection = plan_rows(measured, c.peak_ops, keys, c.masters, c.growth, c.headroom, budget)
        knee = self.bench_knee["step"]
        plan = {
            "peak_ops": c.peak_ops, "read_share": c.read_share, "p99_bound_ms": c.p99_ms, "keys": keys,
            "value_bytes": c.value_bytes, "growth": c.growth, "headroom": c.headroom,
            "memory_budget_bytes": budget, "memory_budget_from": budget_from,
            **projection,
            "knee_ops_per_master": round(measured.knee, 1), "knee_is_lower_bound": measured.knee_is_lower_bound,
            "knee_set_by": "redis-benchmark's client-observed p99 (a C client, closed loop)",
            "knee_evidence": self.bench_knee["evidence"], "server_limited": self.bench_knee["server_limited"],
            "knee_concurrency": knee.concurrency if knee else None,
            "client_p99_at_knee_ms": knee.client_p99_ms if knee else None,
            "server_p99_at_knee_ms": knee.server_p99_ms if knee else None,
            "server_cpu_at_knee": knee.server_cpu if knee else None,
            "cpu_target": c.cpu_target, "recorder_knee_ops": round(self.recorder_knee, 1),
            "benchmark_steps": [asdict(s) for s in self.bench],
            "cross_check": asdict(self.check) if self.check else None,
            "bytes_per_key": round(measured.bytes_per_key, 1), "migration_keys_per_second": measured.keys_per_second,
            "migration_bytes_per_second": measured.bytes_per_second,
            "steps": [asdict(s) for s in measured.steps],
            "machine": machine(), "notes": measured.notes + assumptions(c, budget_from),
            "seconds": round(time.monotonic() - started, 1),
        }
        if c.verify and plan["recommended_masters"]:
            from chaos.capacity_verify import verify

            count = plan["recommended_masters"]
            extra = sorted(set(c.masters) | {count, max(1, count - 1)})
            plan.update(plan_rows(measured, c.peak_ops, keys, extra, c.growth, c.headroom, budget))  # rows for both
            plan["verification"] = verify(self.state, plan, c.verify_seconds, c.value_bytes, c.read_share,
                                          c.base_port, self.say)
        elif c.verify:
            plan["verification"] = None
            plan["notes"].append("--verify: nothing to verify, the plan made no recommendation")
        write_json(self.dir / "plan.json", plan)
        (self.dir / "plan.md").write_text(render_markdown(plan))
        (self.dir / "plan.svg").write_text(render_svg(plan))
        return plan

    # -- measuring ----------------------------------------------------------------------------
    def measure(self, cluster: RedisCluster) -> Measured:
        c = self.config
        seeds = [s.address for s in cluster.specs]
        master = seeds[0]
        before = int(cluster.client(cluster.specs[0]).info("memory")["used_memory"])
        # as many keys as the dataset has (keys per slot set the migration rate: a slot's own
        # round trips dominate when it holds few), between 100 000 and 1 000 000
        preload_keys = min(max(c.keys or 100_000, 100_000), 1_000_000)
        preload(seeds, preload_keys, c.value_bytes, "chaos:plan:")
        used = int(cluster.client(cluster.specs[0]).info("memory")["used_memory"]) - before
        bytes_per_key = used / preload_keys
        self.say(f"memory: {bytes_per_key:.0f} B per key of {c.value_bytes} B values (used_memory over "
                 f"{preload_keys} keys)")
        notes = []
        if c.sample:
            bytes_per_key, self.sampled_keys = sample_cluster(c.sample)
            self.say(f"sampled {c.sample}: {bytes_per_key:.0f} B per key (MEMORY USAGE), {self.sampled_keys} keys")
            notes.append(f"memory per key sampled from {c.sample} (MEMORY USAGE of up to 1000 keys)")
        self.say(f"the server's knee: redis-benchmark (a C client, closed loop) at doubling concurrency against "
                 f"{master}, until its p99 passes {c.p99_ms:g} ms or throughput plateaus")
        self.bench = capacity_bench.sweep(master, c.p99_ms, c.step_seconds, c.value_bytes, c.read_share, self.say)
        self.bench_knee = capacity_bench.knee_of(self.bench)
        knee_step = self.bench_knee["step"]
        if knee_step is not None:  # the knee confirmed: its concurrency twice more, the median of three
            confirmed, runs = capacity_bench.repeat_step(master, knee_step.concurrency, knee_step.achieved,
                                                         c.step_seconds, c.value_bytes, c.read_share, times=2)
            knee_step = capacity_bench.median_step([knee_step, *runs])
            capacity_bench.judge([knee_step], c.p99_ms)
            self.say(f"knee confirmed at -c {knee_step.concurrency}: {', '.join(f'{r.achieved:.0f}' for r in runs)} "
                     f"ops/s again; the median of three {knee_step.achieved:.0f} ops/s")
            self.bench_knee = capacity_bench.knee_of(self.bench, confirmed=knee_step)
            if not knee_step.passed:  # repeated, it broke the bound: the machine, not the server, decided
                self.bench_knee.update(server_limited=False, evidence=f"the knee did not hold when repeated (median "
                                       f"{knee_step.why}): this machine is too noisy for a knee right now")
            elif knee_step.server_cpu is not None and knee_step.server_cpu < capacity_bench.SERVER_EVIDENCE \
                    and "plateaued" not in self.bench_knee["evidence"]:
                self.bench_knee.update(server_limited=False, evidence=f"confirmed, the server's main thread used "
                                       f"only {knee_step.server_cpu:.2f} of a core")
        self.check = None
        if knee_step is not None:
            self.check = capacity_bench.cross_check(master, c.value_bytes, c.read_share, knee_step.achieved,
                                                    c.step_seconds)
            capacity_bench.judge([self.check], c.p99_ms)
            self.say(f"cross-check, redis-benchmark at its default -c 50: {self.check.achieved:.0f} ops/s, client "
                     f"p99 {self.check.client_p99_ms} ms ({'within' if self.check.passed else 'beyond'} the bound); "
                     f"the knee is {knee_step.achieved / self.check.achieved:.2f} of it")
            if self.check.achieved * 0.75 > knee_step.achieved and self.bench_knee["server_limited"]:
                # the same server did far more right after: the sweep was disturbed
                self.bench_knee.update(server_limited=False, evidence=(
                    f"redis-benchmark at -c 50 reached {self.check.achieved:.0f} ops/s, more than 1/0.75 of the "
                    f"{knee_step.achieved:.0f} the sweep found: the sweep was disturbed (this machine's neighbours "
                    "take CPU); "
                    "run the plan again"))
        self.say("the recorder's own view: the harness's load generator, paced at rising rates, every operation "
                 "recorded")
        recorder_knee = self.recorder_sweep(seeds, master)
        if knee_step is None:
            notes.append(f"redis-benchmark's first step already broke the p99 bound ({self.bench[0].why}): no "
                         "knee, so no recommendation; raise --p99-ms or find what slows this machine")
            self.say(notes[-1])
            knee, lower_bound, usable = 0.0, True, 0.0
        else:
            knee, lower_bound = knee_step.achieved, not self.bench_knee["server_limited"]
            usable = capacity_bench.usable_at_cpu(self.bench, knee_step, c.cpu_target)
            self.say(f"knee: {knee:.0f} ops/s per master at concurrency {knee_step.concurrency} (client p99 "
                     f"{knee_step.client_p99_ms} ms, server p99 {knee_step.server_p99_ms} ms); "
                     f"{self.bench_knee['evidence']}")
            if lower_bound:
                notes.append(f"no master count is recommended: the server was not shown to be the limit "
                             f"({self.bench_knee['evidence']}); where the machine cannot saturate it, run the plan "
                             "where the load has cores of its own (load from another machine, or a bigger one)")
                self.say(notes[-1])
            else:
                self.say(f"at {c.cpu_target:g} of a core for the main thread: {usable:.0f} ops/s per master")
        if recorder_knee:
            notes.append(f"the recorder (the harness's load generator, {c.workers} process(es)) reached {recorder_knee:.0f} "
                         f"ops/s within the bound: {recorder_knee / knee:.2f} of the server's knee" if knee else
                         f"the recorder reached {recorder_knee:.0f} ops/s within the bound")
        self.recorder_knee = recorder_knee
        passing = [s for s in self.bench if s.passed]
        p99_points = capacity_bench.monotone_p99([(s.achieved, s.client_p99_ms) for s in passing
                                                  if s.client_p99_ms is not None])
        # an idle main thread uses next to nothing: rates below the first step interpolate from (0, 0)
        cpu_points = [(0.0, 0.0)] + [(s.achieved, s.server_cpu) for s in passing if s.server_cpu is not None]
        keys_per_second, bytes_per_second = self.migration_rate(cluster)
        return Measured(self.steps, bytes_per_key, keys_per_second, bytes_per_second, knee, lower_bound, notes,
                        usable=usable, p99_points=p99_points, cpu_points=cpu_points)

    def recorder_sweep(self, seeds: list[str], master: str) -> float:
        """The harness's own load generator at paced, rising rates (1000 ops/s × 1.5 a step) until a
        step breaks the bounds: what the recorder reaches, beside the server's knee."""
        c = self.config
        rate = 1000.0
        for _ in range(c.max_steps):
            step = judge_step(self.load_step(seeds, master, rate), c.p99_ms)
            self.steps.append(step)
            self.say(f"recorder {rate:>7.0f} ops/s offered: {step.achieved:7.0f} achieved, p99 {step.p99_ms} ms, "
                     f"errors {100 * step.errors:.2f} %, load generator {step.generator_cpu:.2f} cores, "
                     f"server {step.server_cpu:.2f} cores" + ("" if step.passed else f"  → its knee ({step.why})"))
            if not step.passed:
                break
            rate *= 1.5
        return knee_of(self.steps)[0]

    def load_step(self, seeds: list[str], master: str, rate: float) -> Step:
        """``step_seconds`` of paced load at ``rate`` (measured after the first half second of
        operations), with the CPU of the load processes and of the server's main thread."""
        c = self.config
        users = max(4 * c.workers, min(500, int(rate / 250)))  # a paced user then has time to spare
        run = Run("plan-step", make_run_dir("step", str(self.dir / "steps" / f"{int(rate)}")))
        reads = round(10 * c.read_share)
        # it runs past the window (its clock starts before its first operation); stopped when measured
        load = start_load(run, "redis", users, c.step_seconds + 5, rate=rate, seed=int(rate), seeds=seeds,
                          weights=(10 - reads, reads, 0), state=self.state, workers=c.workers,
                          master_port=5587)
        try:
            while not load.seconds and load.running():  # until the load process reports its first second
                time.sleep(0.02)
            pids = load.pids()
            gen0, srv0, t0 = sum(cpu_seconds(p) or 0 for p in pids), server_cpu(master), time.monotonic()
            time.sleep(max(0.5, c.step_seconds - 1.0))
            gen1, srv1, t1 = sum(cpu_seconds(p) or 0 for p in pids), server_cpu(master), time.monotonic()
        finally:
            load.stop()
        history = merge_run_history(run)
        first = next((op.time for op in read_history(history) if op.process != "nemesis"), 0.0)
        start = max(first + 0.5, run.elapsed(t0))  # measured while the CPU was: after the first second
        window = _Window(start, run.elapsed(t1))
        latency = LatencyChecker([("ramp", 0.0), ("steady", start)])
        run_checkers(read_history(history), window, latency)
        total = window.ok + window.failed
        span = t1 - t0
        if srv0 is None or srv1 is None:
            raise ChaosError(f"cannot read the CPU time of {master}'s main thread (/proc); run the plan on the "
                             "machine its servers run on")
        return Step(offered=rate, achieved=round(window.ok / window.seconds, 1),
                    p99_ms=latency.result()["steady"]["p99"], errors=round(window.failed / total, 6) if total else 1.0,
                    generator_cpu=round((gen1 - gen0) / span, 3), server_cpu=round((srv1 - srv0) / span, 3),
                    generator_cores=float(len(pids)))

    def migration_rate(self, cluster: RedisCluster) -> tuple[float | None, float | None]:
        """Add a master and move 1024 slots of the preloaded keys to it under load: the recorder
        paced at half of what it reached within the bound (a scale-out moves keys while clients
        write, and MIGRATE competes with them for the main thread)."""
        c = self.config
        removed = drop_keys(cluster.specs[0].address, ("key:*", "chaos:{*"))  # the sweeps' keys, not the dataset's
        self.say(f"removed the {removed} keys the sweeps wrote: the slots move the dataset's keys only")
        added = cluster.add_nodes(1, 0)
        view = {n.node_id: n.address for n in _masters(cluster)}
        owners = owners_by_master(_masters(cluster))
        target = added["ids"][added["masters"][0]]
        rate = max(500.0, 0.5 * (self.recorder_knee or 1000.0))
        seeds = [s.address for s in cluster.specs]
        run = Run("plan-migration", make_run_dir("migration", str(self.dir / "migration")))
        reads = round(10 * c.read_share)
        load = start_load(run, "redis", max(4, int(rate / 250)), 600, rate=rate, seed=7, seeds=seeds,
                          weights=(10 - reads, reads, 0), state=self.state, workers=1, master_port=5587)
        mover = Reshard(view)
        try:
            while not load.seconds and load.running():
                time.sleep(0.02)
            mover.move(plan_rebalance(owners, 1024, [target]))
        finally:
            mover.close()
            load.stop()
        self.migration_load = rate
        s = summarize(mover.moved)
        seconds = s["migration_seconds"] or 0
        self.say(f"migration: {s['slots_moved']} slots, {s['keys_migrated']} keys in {seconds:.2f} s "
                 f"({s['keys_per_second']} keys/s, under {rate:.0f} ops/s of load)")
        return s["keys_per_second"], (round(s["bytes_migrated"] / seconds, 1) if seconds else None)

    def memory_budget(self) -> tuple[float, str]:
        if self.config.max_memory:
            return float(self.config.max_memory), "--max-memory"
        total = _mem_total()
        return total * 0.25, "assumed: each master may use 25 % of this machine's RAM (give --max-memory)"


def drop_keys(address: str, patterns: tuple[str, ...]) -> int:
    """Delete the keys matching ``patterns`` on one node (SCAN + UNLINK); how many."""
    from chaos.clients.resp import Connection

    host, _, port = address.rpartition(":")
    conn = Connection(host, int(port), timeout=10)
    removed = 0
    try:
        for pattern in patterns:
            cursor = b"0"
            while True:
                cursor, keys = conn.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
                if keys:  # one by one (a cluster node refuses keys of different slots in one UNLINK)
                    removed += sum(r for r in conn.call_many([("UNLINK", k) for k in keys]) if isinstance(r, int))
                if cursor == b"0":
                    break
    finally:
        conn.close()
    return removed


class _Window:
    """Operations completed within [start, end] run seconds: ok and failed (fail + info)."""

    def __init__(self, start: float, end: float):
        self.start, self.end = start, end
        self.seconds = end - start
        self.ok = self.failed = 0

    def feed(self, invoke: Any, completion: Any) -> None:
        if completion is None or not self.start <= completion.time <= self.end:
            return
        if completion.type == "ok":
            self.ok += 1
        else:
            self.failed += 1


def _masters(cluster: RedisCluster) -> list[Any]:
    from chaos.topology.redis_info import parse_cluster_nodes

    nodes = parse_cluster_nodes(cluster.client(cluster.specs[0]).execute_command("CLUSTER", "NODES"))
    return [n for n in nodes if n.is_master]


def _mem_total() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return float(line.split()[1]) * 1024
    return 0.0


def machine() -> dict[str, Any]:
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {"cores": os.cpu_count(), "memory_bytes": int(_mem_total()), "kernel": platform.release(),
            "python": platform.python_version(), "redis": version}


def assumptions(c: PlanConfig, budget_from: str) -> list[str]:
    return [
        "a projection from rates measured on this machine (see machine), not a guarantee for another",
        f"the peak is spread evenly over the masters (no hot keys or hot slots); {100 * c.read_share:.0f} % reads",
        f"growth {100 * c.growth:.0f} % on top of the peak and the dataset; headroom {100 * c.headroom:.0f} % kept "
        "free of the knee and of the memory budget",
        f"memory budget per master: {budget_from}; 25 % of it reserved for fork copy-on-write and buffers",
        "scaling in to a row is safe when that row fits and the kept masters' free memory is at least 1.5 × "
        "the memory of the removed one",
        "predicted p99 is interpolated between measured steps; beyond the knee it is not predicted",
        "reshard time = keys to move ÷ the migration rate measured while the recorder wrote at half its own "
        "knee (heavier load slows it further: see `chaos run scale-out`)",
    ]


def recommendation_line(plan: dict[str, Any]) -> str:
    if plan["recommended_masters"] is None:
        return ("No recommendation: the server was not shown to be the limit here, so its knee is unknown "
                f"({plan.get('knee_evidence')}).")
    return (f"Recommended masters: **{plan['recommended_masters']}** (throughput bound {plan['throughput_bound']} at "
            f"{plan.get('capacity_per_master')} ops/s per master, memory bound {plan['memory_bound']}, at least 3).")


def knee_line(plan: dict[str, Any]) -> str:
    if not plan["knee_ops_per_master"]:
        return "No knee: the first step broke the p99 bound."
    return (f"Knee of one master here: {plan['knee_ops_per_master']:.0f} ops/s at concurrency "
            f"{plan.get('knee_concurrency')}, set by {plan.get('knee_set_by')} ≤ {plan['p99_bound_ms']:g} ms: client "
            f"p99 {plan.get('client_p99_at_knee_ms')} ms, the server's own p99 {plan.get('server_p99_at_knee_ms')} ms, "
            f"main thread {plan.get('server_cpu_at_knee')} cores ({plan.get('knee_evidence')}). At "
            f"{plan.get('cpu_target')} of a core: {plan.get('capacity_per_master')} ops/s per master. The recorder "
            f"(the harness's own load generator) reached {plan.get('recorder_knee_ops')} ops/s.")


def cross_check_line(plan: dict[str, Any]) -> str:
    check = plan.get("cross_check")
    if not check:
        return ""
    return (f"Cross-check: redis-benchmark at its default concurrency (50) on the same master: {check['achieved']:.0f} "
            f"ops/s, client p99 {check['client_p99_ms']} ms ({'within' if check['passed'] else 'beyond'} the bound); "
            f"the knee is {plan['knee_ops_per_master'] / check['achieved']:.2f} of it.")


def render_markdown(plan: dict[str, Any]) -> str:
    lines = [f"# Capacity plan: {plan['peak_ops']:.0f} ops/s peak", "", recommendation_line(plan), "",
             knee_line(plan) + f" {plan['bytes_per_key']:.0f} B per key; migration "
             f"{plan['migration_keys_per_second']} keys/s under load.", "", cross_check_line(plan), "",
             "| masters | ops/s per master | share of knee | predicted p99 ms | predicted main thread cores | "
             "memory per master | fits | scale in to it safe | reshard from | slots | reshard s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in plan["rows"]:
        lines.append(f"| {r['masters']} | {r['ops_per_master']:.0f} | {r['share_of_knee']} | "
                     f"{r['predicted_p99_ms'] if r['predicted_p99_ms'] is not None else '–'} | "
                     f"{r.get('predicted_server_cpu') if r.get('predicted_server_cpu') is not None else '–'} | "
                     f"{r['memory_per_master_bytes'] / 1e6:.1f} MB | {'yes' if r['fits'] else 'no'} | "
                     f"{'yes' if r['scale_in_to_safe'] else 'no'} | {r['reshard_from']} | {r['slots_to_move']} | "
                     f"{r['reshard_seconds'] if r['reshard_seconds'] is not None else '–'} |")
    if plan.get("verification"):
        lines += ["", "## Verified: the peak offered to the recommendation and to one master fewer", "",
                  "valkey-benchmark --rps (open loop) on a cluster of each size; predicted from the knee above.", "",
                  "| masters | offered ops/s | measured ops/s | measured ÷ offered | predicted p99 ms | measured p99 ms "
                  "| predicted main thread cores | measured (busiest master) | holds |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for v in plan["verification"]:
            lines.append(f"| {v['masters']} | {v['offered_ops']:.0f} | {v['measured_ops']:.0f} | {v['throughput_ratio']} | "
                         f"{v['predicted_p99_ms']} | {v['measured_p99_ms']} | {v['predicted_main_thread_cores']} | "
                         f"{v['measured_main_thread_cores']} | {'yes' if v['holds'] else '**no**'} |")
    lines += ["", "## The server's knee: redis-benchmark against one master", "",
              "| concurrency | ops/s | client p99 ms | client p50 ms | server p99 ms | main thread cores | "
              "redis-benchmark cores | limit | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for b in plan.get("benchmark_steps", []):
        lines.append(f"| {b['concurrency']} | {b['achieved']:.0f} | {b['client_p99_ms']} | {b['client_p50_ms']} | "
                     f"{b['server_p99_ms']} | {b['server_cpu']} | {b['generator_cpu']} | {b['limit']} | "
                     f"{'ok' if b['passed'] else b['why']} |")
    lines += ["", "## The recorder's steps (the harness's load generator, paced, every operation recorded)", "",
              "| offered ops/s | achieved | p99 ms | errors | load generator cores | server cores | verdict |",
              "|---|---|---|---|---|---|---|"]
    for s in plan["steps"]:
        lines.append(f"| {s['offered']:.0f} | {s['achieved']:.0f} | {s['p99_ms']} | {100 * s['errors']:.2f} % | "
                     f"{s['generator_cpu']} | {s['server_cpu']} | {'ok' if s['passed'] else s['why']} |")
    lines += ["", "## Assumptions", ""] + [f"- {n}" for n in plan["notes"]]
    lines += ["", f"Machine: {json.dumps(plan['machine'])}", "", "![p99 against offered load](plan.svg)", ""]
    return "\n".join(lines)


def render_svg(plan: dict[str, Any], width: int = 640, height: int = 360) -> str:
    """Client-observed p99 against achieved ops/s: redis-benchmark's steps (the server's knee) and
    the recorder's, the bound and the knee (no dependencies)."""
    bench = [{"achieved": b["achieved"], "p99_ms": b["client_p99_ms"], "passed": b["passed"]}
             for b in plan.get("benchmark_steps") or [] if b.get("client_p99_ms") is not None]
    recorder = [s for s in plan["steps"] if s["p99_ms"] is not None]
    both = bench + recorder
    left, right, top, bottom = 60, 20, 30, 50
    xmax = max([s["achieved"] for s in both] + [s["offered"] for s in plan["steps"]] + [1.0]) * 1.05
    ymax = max([s["p99_ms"] for s in both] + [plan["p99_bound_ms"]]) * 1.2

    def x(v: float) -> float:
        return left + (width - left - right) * v / xmax

    def y(v: float) -> float:
        return height - bottom - (height - top - bottom) * v / ymax

    def series(steps: list[dict[str, Any]], stroke: str, shape: str) -> str:
        ordered = sorted(steps, key=lambda s: s["achieved"])
        points = " ".join(f"{x(s['achieved']):.1f},{y(s['p99_ms']):.1f}" for s in ordered)
        marks = "".join(
            (f'<circle cx="{x(s["achieved"]):.1f}" cy="{y(s["p99_ms"]):.1f}" r="4" ' if shape == "circle" else
             f'<rect x="{x(s["achieved"]) - 3.5:.1f}" y="{y(s["p99_ms"]) - 3.5:.1f}" width="7" height="7" ')
            + f'fill="{"#2a7" if s["passed"] else "#c33"}"/>' for s in ordered)
        return f'<polyline points="{points}" fill="none" stroke="{stroke}"/>' + marks

    knee, bound = plan["knee_ops_per_master"], plan["p99_bound_ms"]
    base = height - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18">client p99 of one master against ops/s: redis-benchmark (circles), the '
        'recorder (squares); green within bounds</text>',
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="black"/>',
        f'<text x="{width / 2:.0f}" y="{height - 12}" text-anchor="middle">ops/s (max {xmax:.0f})</text>',
        f'<text x="14" y="{height / 2:.0f}" transform="rotate(-90 14 {height / 2:.0f})" '
        f'text-anchor="middle">p99 ms (max {ymax:.2f})</text>',
        f'<line x1="{left}" y1="{y(bound):.1f}" x2="{width - right}" y2="{y(bound):.1f}" stroke="#c33" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{width - right - 4}" y="{y(bound) - 4:.1f}" text-anchor="end" fill="#c33">p99 bound {bound:g} ms</text>',
        f'<line x1="{x(knee):.1f}" y1="{top}" x2="{x(knee):.1f}" y2="{base}" stroke="#27c" stroke-dasharray="4 3"/>',
        f'<text x="{x(knee) - 4:.1f}" y="{top + 12}" text-anchor="end" fill="#27c">knee {knee:.0f}</text>',
        series(bench, "#555", "circle"),
        series(recorder, "#999", "square"),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
