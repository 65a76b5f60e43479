"""Steps and measurements Redis Cluster plans share (master-kill, master-pause, partition).

Steps read and write ``ctx.vars``: ``cluster``, ``victim`` (the status row of the target),
``replicas`` (name → address of the victim's replicas), ``first_slot``, ``probe``, ``promoted``
(name of the replica that took over, or None), ``rejoined``. Wait conditions use the same
sample predicates as the checkers (:mod:`chaos.checkers.failover`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.backends import make_backend
from chaos.checkers.compose import Check, measure_parts
from chaos.checkers.counts import AckedBy
from chaos.checkers.failover import (
    cluster_down,
    first_promotion,
    first_rejoin,
    is_linked_replica_of,
    is_promoted,
)
from chaos.engine import (
    RunConfig,
    RunContext,
    copy_node_files,
    measure_live,
    read_timeline,
)
from chaos.errors import ChaosError
from chaos.observe.cpu import cpu_seconds, saturation, server_cpu
from chaos.observe.redis_log import parse_redis_log
from chaos.observe.redis_probe import RedisProbe
from chaos.runner import ClusterFinalRead, analyze_history, start_load
from chaos.servers import parse_server
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig, compare_replicas, server_version
from chaos.topology.redis_info import parse_slot_ranges

REDIS_KNOWN = {"failover_seconds", "failover_seconds_from_log", "cluster_down_seconds", "write_unavailable_seconds",
               "write_unavailable_seconds_other_slots", "rejoin_seconds", "lost_writes", "unacked_applied_writes",
               "lost_increments", "ops.ok", "ops.fail", "ops.info", "consistency.mismatches",
               "consistency.keys_compared", "recovered_writes", "failed_applied_writes"}


@dataclass
class RedisRunConfig(RunConfig):
    """Settings of every Redis Cluster scenario (see :func:`chaos.options.redis_cluster_options`)."""

    BACKENDS = ("process", "docker")
    masters: int = 3
    replicas_per_master: int = 1
    node_timeout_ms: int = 3000
    base_port: int = 7001
    target: str | None = None
    failover_timeout: float | None = None
    rejoin_timeout: float = 60.0
    probe_interval_ms: float = 10.0
    attach: str | None = None  # redis://HOST:PORT of a cluster the harness did not start
    password_env: str | None = None
    allow_remote: bool = False
    keep_data: bool = False
    server: str | None = None  # --server redis:8.0 | valkey:9.1 (a cluster this run starts)

    def validate(self) -> None:
        super().validate()
        parse_server(self.server, "redis")
        if self.replicas_per_master < 1:
            raise ChaosError("this scenario needs replicas to fail over to: --replicas-per-master must be >= 1")
        if not 1 <= self.probe_interval_ms <= 1000:
            raise ChaosError("--probe-interval-ms must be between 1 and 1000")

    def failover_wait(self, node_timeout_ms: int) -> float:
        return self.failover_timeout or max(30.0, node_timeout_ms / 1000.0 * 10)


def redis_config(config: RedisRunConfig) -> RedisClusterConfig:
    return RedisClusterConfig(config.masters, config.replicas_per_master, config.node_timeout_ms, config.base_port,
                              server=config.server or "")


# -- steps ---------------------------------------------------------------------------------------
def provision_cluster(ctx: RunContext) -> None:
    """The cluster that is up, a cluster the user runs (--attach), or a new one (torn down at the
    end unless --keep); then the steady state: every node answers, all slots covered, every
    replica linked."""
    config, state = ctx.config, ctx.state
    if config.attach:
        cluster = attach_cluster(ctx)
    elif state.topology("redis-cluster") is None:
        cluster = RedisCluster(state, redis_config(config), make_backend(config.backend, state.path))
        ctx.say(f"starting a Redis Cluster: {cluster.config.masters} masters × {cluster.config.replicas_per_master} "
                f"replica(s), cluster-node-timeout {cluster.config.node_timeout_ms} ms")
        seconds = cluster.up(say=ctx.say)
        ctx.cleanup(ctx.teardown, cluster, "cluster")
        ctx.say(f"cluster up in {seconds:.2f} s")
    else:
        cluster = RedisCluster.attach(state)
        if cluster.attached:
            raise ChaosError(f"{state.path} still records an attachment to {cluster.target} from a run that did not "
                             "finish; run `chaos down` (it brings back what that run stopped) and try again")
        ctx.say(f"using the redis-cluster already up in {state.path} ({cluster.backend.name} backend)")
        config.backend = cluster.backend.name  # the run reports where its nodes really ran
    ctx.vars["cluster"] = cluster
    if not cluster.attached:
        ctx.cleanup(copy_node_files, cluster.specs, ctx.run, ("redis.conf", "nodes.conf", "stdout.log"))
    problems = cluster.problems_before_faults() if cluster.attached else cluster.health_problems()
    if problems:
        raise ChaosError(f"steady state not reached: {'; '.join(problems[:3])}; fix it" +
                         ("" if cluster.attached else " or `chaos down`") + " and run again")
    ctx.outcome.topology["before"] = cluster.status()
    ctx.outcome.topology["server_version"] = server_version(cluster.client(cluster.specs[0]).info("server"))


def attach_cluster(ctx: RunContext) -> Any:
    """--attach: discover, print what was found, record it (so a crashed run's `chaos down`
    brings back what it stopped); at the end delete the run's keys (unless --keep-data) and
    bring every node back."""
    from chaos.topology.attach import AttachedRedisCluster, delete_run_keys, load_password, password_scope

    config, state = ctx.config, ctx.state
    if state.topology("redis-cluster") is not None:
        raise ChaosError(f"{state.path} already records a redis-cluster; --attach needs a state dir of its own "
                         "(`chaos down` first, or give --state-dir)")
    ctx.cleanup(password_scope().close)  # the last cleanup: the password leaves with the run
    load_password(config.password_env, config.attach)
    cluster = AttachedRedisCluster.discover(state, config.attach, config.backend, config.allow_remote)
    for line in cluster.describe():
        ctx.say(line)
    state.ensure()
    cluster.save()
    ctx.cleanup(finish_attachment, ctx, cluster)
    if not config.keep_data:
        def delete_keys() -> None:
            ctx.say(f"deleted {delete_run_keys(cluster, ctx.run.run_id)} key(s) this run wrote")
        ctx.cleanup(delete_keys)
    ctx.outcome.topology["attached"] = {"target": cluster.target, "unmapped": cluster.unmapped,
                                        "notes": cluster.notes, "versions": cluster.versions}
    return cluster


def finish_attachment(ctx: RunContext, cluster: Any) -> None:
    changed = cluster.restore(ctx.say)
    ctx.outcome.topology["attached"]["roles_changed"] = changed
    cluster.release()


def require_faultable(ctx: RunContext, name: str, needs_restart: bool) -> None:
    """An attached node the harness could not map to what runs it cannot be faulted: exit 2."""
    cluster = ctx.vars["cluster"]
    why = cluster.can_fault(name, needs_restart) if cluster.attached else None
    if why:
        raise ChaosError(f"{ctx.plan.name} cannot fault {name}: {why}; choose another node with --target")


def require_own_addresses(ctx: RunContext, names: list[str], what: str) -> None:
    """Address-based firewall rules need every node involved on its own address."""
    cluster = ctx.vars["cluster"]
    hosts = [s.host for s in cluster.specs]
    shared = [n for n in names if hosts.count(cluster.spec(n).host) > 1]
    if shared:
        raise ChaosError(f"{what} cuts links by address, and {shared[0]} shares {cluster.spec(shared[0]).host} with "
                         "other nodes; give each node its own loopback address (bind + bind-source-addr)")


def choose_node(ctx: RunContext, target: str | None, role: str = "master") -> dict[str, Any]:
    """The status row of ``target`` (name or address), or a seeded random node of ``role``."""
    rows = ctx.outcome.topology["before"]
    masters = [r for r in rows if r["role"] == "master" and r["slots"]]
    if target:
        for r in rows:
            if target in (r["name"], r["address"]):
                if role == "master" and r["role"] != "master":
                    raise ChaosError(f"--target {target} is a {r['role'] or 'stopped node'}; {ctx.plan.name} "
                                     f"needs a master: {', '.join(m['name'] for m in masters)}")
                return r
        raise ChaosError(f"--target {target}: no such node; nodes are "
                         + ", ".join(f"{r['name']} ({r['address']})" for r in rows))
    pool = masters if role == "master" else [r for r in rows if r["role"] == role]
    if not pool:
        raise ChaosError(f"the cluster has no {role} to target")
    return ctx.rng.choice(sorted(pool, key=lambda r: r["name"]))


def master_of_key(ctx: RunContext, key: str) -> dict[str, Any]:
    slot = key_slot(key.encode())
    for r in ctx.outcome.topology["before"]:
        if r["role"] == "master" and any(lo <= slot <= hi for lo, hi in parse_slot_ranges(r["slots"])):
            return r
    raise ChaosError(f"no master owns slot {slot} of --target-key {key!r}")


def set_victim(ctx: RunContext, victim: dict[str, Any], needs_restart: bool = True) -> None:
    """Record the target and, for a master, the replicas that can take over its slots."""
    require_faultable(ctx, victim["name"], needs_restart)
    rows = ctx.outcome.topology["before"]
    ctx.vars["victim"] = victim
    ctx.vars["replicas"] = {r["name"]: r["address"] for r in rows if r["follows"] == victim["name"]}
    ctx.vars["victim_slots"] = parse_slot_ranges(victim["slots"])
    ctx.vars["first_slot"] = ctx.vars["victim_slots"][0][0] if ctx.vars["victim_slots"] else None
    if victim["role"] == "master" and not ctx.vars["replicas"]:
        raise ChaosError(f"{victim['name']} has no replica, so no failover can happen")


def start_probe_and_load(ctx: RunContext) -> None:
    """Probes on every node (10 ms), then the load; the warm-up phase begins."""
    cluster, config, run = ctx.vars["cluster"], ctx.config, ctx.run
    before = ctx.outcome.topology["before"]
    watch = sorted(lo for r in before if r["role"] == "master" for lo, _ in parse_slot_ranges(r["slots"]))
    probe = RedisProbe(cluster.specs, run.dir / "timeline.jsonl", run.t0, run.wall0, watch,
                       interval=config.probe_interval_ms / 1000.0,  # type: ignore[attr-defined]
                       on_sample=lambda s: run.bus.fire("sample", **s))
    probe.start()
    ctx.vars["probe"] = probe
    ctx.cleanup(stop_probe, ctx)
    run.phase("warmup")
    load_seconds = max(config.duration, config.warmup) + 600  # stopped by us, not by its clock
    ctx.load = start_load(run, "redis", config.users, load_seconds, seed=ctx.seed, state=ctx.state,
                          seeds=[s.address for s in cluster.specs], **config.load_options())
    ctx.cleanup(ctx.load.stop)
    ctx.vars["cpu_start"] = cpu_snapshot(ctx)
    victim = ctx.vars.get("victim")
    ctx.vars["fault_at"] = ctx.elapsed() + config.warmup
    target = "" if victim is None else (
        f"; target {victim['name']} ({victim['address']}, {victim['role']}"
        + (f", slots {victim['slots']}" if victim["slots"] else "") + ")")
    ctx.say(f"load: {config.users} users; warm-up {config.warmup:g} s{target}")


def cpu_snapshot(ctx: RunContext) -> tuple[float, float, dict[str, float]]:
    """(time, CPU seconds of the load processes, CPU seconds of each master's main thread)."""
    masters = [r["address"] for r in ctx.outcome.topology["before"] if r["role"] == "master"]
    servers = {a: c for a in masters if (c := server_cpu(a)) is not None}
    return time.monotonic(), sum(cpu_seconds(p) or 0.0 for p in ctx.load.pids()), servers


def load_generator_check(ctx: RunContext) -> None:
    """Before the load stops: was the load generator, not the servers, the limit? Say so."""
    start = ctx.vars.get("cpu_start")
    if start is None:
        return
    t1, gen1, servers1 = cpu_snapshot(ctx)
    t0, gen0, servers0 = start
    span = max(t1 - t0, 1e-9)
    result = saturation((gen1 - gen0) / span, len(ctx.load.pids()),
                        {a: max(0.0, servers1[a] - servers0[a]) / span for a in servers1 if a in servers0})
    ctx.vars["load_generator"] = result
    if result["generator_saturated"]:
        ctx.say(f"note: the load generator was saturated ({result['generator_cores']:.2f} cores for "
                f"{result['load_processes']} load process(es)) while no server's main thread used 90 % of a "
                "core: the ops/s measured are the load generator's limit, not the servers'; try --workers auto")


def stop_probe(ctx: RunContext) -> None:
    probe = ctx.vars.get("probe")
    if probe is None:
        return
    probe.stop()
    if probe.errors:
        ctx.say(f"warning: the probes hit {probe.errors} unexpected error(s); last: {probe.last_error}")


def fault_detail(victim: dict[str, Any]) -> str:
    slots = f" of {victim['slots']}" if victim.get("slots") else ""
    return f" ({victim['address']}, {victim['role']}{slots})"


def record_fault(ctx: RunContext, kind: str, key: str, **extra: Any) -> None:
    """``result.json``'s ``fault``: what was done to which node, and when."""
    victim = ctx.vars["victim"]
    at = ctx.vars[f"{key}_t"]
    wall = ctx.run.wall(ctx.run.t0 + at)
    from chaos.runner import iso

    ctx.outcome.fault = {"kind": kind, "target": victim["address"], "target_name": victim["name"],
                         "target_role": victim["role"], "target_slots": victim["slots"],
                         "injected_at": wall, "injected_at_iso": iso(wall), **extra}
    ctx.vars["fault_t"] = at


def promoted(ctx: RunContext) -> str | None:
    """Wait condition: a replica of the victim reports itself master and owner of its first
    slot, in a sample taken after the fault."""
    latest, fault_t = ctx.vars["probe"].latest, ctx.vars["fault_t"]
    for name, address in ctx.vars["replicas"].items():
        s = latest.get(name)
        if s and s["time"] > fault_t and is_promoted(s, address, ctx.vars["first_slot"]):
            return name
    return None


def say_promoted(ctx: RunContext, name: str | None) -> None:
    if name is None:
        ctx.say(f"no replica took over {ctx.vars['victim']['slots']} in time")
    else:
        seconds = ctx.vars["probe"].latest[name]["time"] - ctx.vars["fault_t"]
        ctx.say(f"promoted {ctx.vars['replicas'][name]} ({name}) after {seconds:.2f} s")


def master_after(ctx: RunContext) -> str | None:
    """The address the victim should follow once it is back: the promoted replica, or (no
    failover expected, e.g. an isolated replica) the master it followed before."""
    if ctx.vars.get("promoted"):
        return ctx.vars["replicas"][ctx.vars["promoted"]]
    return ctx.outcome.context.get("rejoin_master")


def rejoined(ctx: RunContext) -> bool:
    """Wait condition: the victim is a linked replica of :func:`master_after`, in a sample taken
    after it came back (``heal_t``)."""
    victim = ctx.vars["victim"]["name"]
    s = ctx.vars["probe"].latest.get(victim)
    return bool(s and s["time"] > ctx.vars["heal_t"] and is_linked_replica_of(s, master_after(ctx)))


def say_rejoined(ctx: RunContext, ok: Any) -> None:
    victim, master = ctx.vars["victim"]["name"], master_after(ctx)
    if ok:
        seconds = ctx.vars["probe"].latest[victim]["time"] - ctx.vars["heal_t"]
        ctx.say(f"{victim} rejoined as a replica of {master} after {seconds:.2f} s")
    else:
        ctx.say(f"{victim} did not rejoin as a replica of {master} in time")


def cooldown_and_stop_load(ctx: RunContext) -> None:
    """Cool-down (at least 2 s, until --duration), stop the load and the probes, record the
    topology after and the servers' own log lines about the fault."""
    ctx.run.phase("cooldown")
    ctx.sleep_until(max(ctx.elapsed() + 2.0, ctx.config.duration))
    load_generator_check(ctx)
    ctx.load.stop()
    ctx.say(f"load stopped after {ctx.elapsed():.1f} s")
    stop_probe(ctx)
    cluster = ctx.vars["cluster"]
    ctx.outcome.topology["after"] = cluster.status()
    append_timeline(ctx.run.dir / "timeline.jsonl", server_events(cluster, ctx, ctx.vars["fault_t"]))


def measure_cluster(ctx: RunContext) -> None:
    """Final read of every key written, masters against their replicas, then the plan's measure."""
    cluster, v = ctx.vars["cluster"], ctx.vars
    ctx.outcome.context.update({
        "victim": v["victim"]["name"], "victim_address": v["victim"]["address"], "victim_role": v["victim"]["role"],
        "victim_slots": v["victim_slots"],
        "replicas": v["replicas"], "first_slot": v["first_slot"], "fault_t": v["fault_t"], "heal_t": v.get("heal_t"),
        "phases": ctx.run.phases, "node_timeout_ms": cluster.config.node_timeout_ms,
        "rejoin_timeout": ctx.config.rejoin_timeout,
    })
    ctx.say("final read of every key written; comparing masters with their replicas")
    match = f"chaos:*:{ctx.run.run_id}:*" if cluster.attached else None  # the user's own data is not ours to judge
    live = {"consistency": compare_replicas(cluster, match=match), "probe_samples": ctx.vars["probe"].samples,
            "load_generator": ctx.vars.get("load_generator")}
    measure_live(ctx, ClusterFinalRead([s.address for s in cluster.specs]), live)


def append_timeline(path: Path, events: list[dict[str, Any]]) -> None:
    with open(path, "a") as out:
        for e in events:
            out.write(json.dumps({"source": "log", **e}, separators=(",", ":")) + "\n")


def server_events(cluster: RedisCluster, ctx: RunContext, fault_t: float) -> list[dict[str, Any]]:
    """The nodes' own log lines about the fault (from a second before it), in run time."""
    events = []
    for spec in cluster.specs:
        for e in parse_redis_log(cluster.backend.log_lines(spec.name, since=ctx.run.wall0), spec.name):
            t = e["wall"] - ctx.run.wall0
            if t >= fault_t - 1.0:
                events.append({**e, "time": round(t, 6)})
    return sorted(events, key=lambda e: e["time"])


# -- measurements (pure over the run directory's files) -------------------------------------------
def history_part(run_dir: Path, ctx: dict[str, Any], read_final: Any) -> Any:
    """Lost writes, counters, availability per slot group, latency per phase, op counts."""
    names = ["others"] * 16384  # slot → group, looked up once per operation
    for lo, hi in ctx["victim_slots"]:
        names[lo : hi + 1] = ["victim"] * (hi - lo + 1)

    def group(op: Any) -> str | None:
        return names[key_slot(op.key.encode())]

    def part(_: dict[str, Any]) -> dict[str, Any]:
        # in the same pass: the writes the victim acknowledged from the fault on (pause, partition)
        victim_acked = AckedBy(ctx.get("victim_address"), ctx["fault_t"])
        analysis = analyze_history(run_dir / "history.jsonl", read_final, group, [tuple(p) for p in ctx["phases"]],
                                   extra=(victim_acked,))
        lost_keys = analysis.writes.pop("lost_keys")
        (run_dir / "lost-writes.txt").write_text("".join(f"{k}\n" for k in lost_keys))
        avail = analysis.availability
        victim_avail = avail.get("victim", {})
        return {
            "write_unavailable_seconds": victim_avail.get("longest_unavailable_seconds"),
            "write_unavailable_until_end": victim_avail.get("unavailable_at_end", False),
            "write_unavailable_seconds_other_slots": avail.get("others", {}).get("longest_unavailable_seconds"),
            "lost_writes": analysis.writes["lost"],
            "unacked_applied_writes": analysis.writes["unacked_applied"],
            "recovered_writes": analysis.writes["recovered"],
            "failed_applied_writes": analysis.writes["failed_applied"],
            "lost_increments": analysis.counters["lost_increments"],
            "unacked_applied_increments": analysis.counters["unacked_applied_increments"],
            "ops": analysis.ops,
            "latency_ms": analysis.latency,
            "writes": analysis.writes,
            "counters": {k: v for k, v in analysis.counters.items() if k != "per_key"},
            "availability": avail,
            "_lost_keys": set(lost_keys),
            "_victim_acked": victim_acked,
        }
    return part


def failover_part(run_dir: Path, ctx: dict[str, Any], samples: list[dict[str, Any]]) -> Any:
    """Promotion (from the fault), cluster_state:fail time, the servers' log view, and the old
    master's return as a replica of the promoted node (from ``heal_t``)."""
    fault_t, heal_t, victim = ctx["fault_t"], ctx.get("heal_t"), ctx["victim"]

    def part(_: dict[str, Any]) -> dict[str, Any]:
        promotion = first_promotion(samples, ctx["replicas"], ctx["first_slot"], after=fault_t) \
            if ctx.get("replicas") else None
        # back as a replica of the promoted node (or, when no failover was expected, of its master)
        master_after = promotion["address"] if promotion else ctx.get("rejoin_master")
        rejoin_t = first_rejoin(samples, victim, master_after, heal_t) \
            if master_after and heal_t is not None else None
        server_view = [{**e, "after_fault": round(e["time"] - fault_t, 6)} for e in samples if e.get("source") == "log"]
        won = next((e for e in server_view if e["event"] == "election_won"
                    and promotion and e["node"] == promotion["node"]), None)
        m = {
            "failover_seconds": round(promotion["time"] - fault_t, 6) if promotion else None,
            "failover_seconds_from_log": round(won["after_fault"], 6) if won else None,
            "promoted": promotion["address"] if promotion else None,
            "cluster_down_seconds": cluster_down(samples)["cluster_down_seconds"],
            "rejoin_seconds": round(rejoin_t - heal_t, 6) if rejoin_t is not None else None,
            "server_view": server_view,
            "_promotion": promotion,
        }
        if rejoin_t is None:
            m["rejoin_reason"] = ("no replica was promoted" if not master_after else
                                  f"{victim} was not a linked replica of {master_after} within "
                                  f"{ctx.get('rejoin_timeout', 0):g} s of its return")
        return m
    return part


REDIS_CHECKS = [
    Check("no_lost_writes", "lost_writes", lambda v: v == 0, "==0"),
    Check("no_lost_increments", "lost_increments", lambda v: v == 0, "==0"),
    Check("replicas_consistent", "consistency", lambda c: c["consistent"], "==0", shown=lambda c: c["mismatches"]),
]
FAILOVER_CHECKS = [
    Check("failover_happened", "failover_seconds", lambda v: v is not None),
    Check("old_master_rejoined_as_replica", "rejoin_seconds", lambda v: v is not None),
]


def measure_redis(run_dir: Path, ctx: dict[str, Any], read_final: Any, live: dict[str, Any],
                  extra: Any = None) -> dict[str, Any]:
    """The measurements every Redis fault plan shares (history, failover, consistency), plus the
    plan's own parts: ``extra(samples)`` returns more (name, part) pairs."""
    samples = read_timeline(run_dir / "timeline.jsonl")
    m = measure_parts([
        ("history", history_part(run_dir, ctx, read_final)),
        ("failover", failover_part(run_dir, ctx, samples)),
        *(extra(samples) if extra is not None else []),
        ("consistency", lambda _: {"consistency": live["consistency"]}),
    ])
    m.update(node_timeout_ms=ctx["node_timeout_ms"], probe_samples=live.get("probe_samples"),
             load_generator=live.get("load_generator"))
    return public(m)


def public(measurements: dict[str, Any]) -> dict[str, Any]:
    """Measurements without the parts' private hand-offs (keys starting with ``_``)."""
    return {k: v for k, v in measurements.items() if not k.startswith("_")}
