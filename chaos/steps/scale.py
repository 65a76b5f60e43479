"""The run state and steps of scale-out and scale-in plans: preload, the migration method,
the servers' redirect counts, step events for the timeline, settle, stop, measure. Moving
slots is :mod:`chaos.steps.scale_migration`; the end state :mod:`chaos.steps.scale_end_state`;
the measurements :mod:`chaos.steps.scale_measure`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis.crc import key_slot

from chaos.clients.resp import ClusterClient, Connection
from chaos.engine import Do, Phase, RunContext, SleepUntil, Slot, Step, action, measure_live
from chaos.errors import ChaosError
from chaos.options import option
from chaos.runner import ClusterFinalRead
from chaos.servers import parse_server
from chaos.steps.redis_cluster import RedisRunConfig, RedisState, append_timeline, stop_load_and_probe
from chaos.steps.redis_failover_measure import REDIS_KNOWN
from chaos.steps.scale_end_state import addresses, end_state, preload_missing, slots_in_flight
from chaos.topology.redis_cluster import server_version
from chaos.topology.redis_info import SLOTS, parse_info
from chaos.topology.reshard import summarize
from chaos.topology.reshard_atomic import AtomicReshard, half_moved, summarize_jobs, supports_atomic

RESHARD_LOG = "reshard.jsonl"
HEADLINE = ["slots_moved", "keys_migrated", "migration_seconds", "keys_per_second", "throughput_dip",
            "recovery_seconds", "moved_slots_write_pause_seconds", "lost_writes"]
KNOWN = REDIS_KNOWN | {"slots_moved", "keys_migrated", "bytes_migrated", "migration_seconds", "keys_per_second",
                       "throughput_dip", "recovery_seconds", "slot_seconds.p50", "slot_seconds.p99", "slot_seconds.max",
                       "ops_per_second.before", "ops_per_second.during", "ops_per_second.after",
                       "client_redirects.ask", "client_redirects.moved", "client_redirects.tryagain",
                       "preloaded_keys_missing", "moved_slots_write_pause_seconds"}


# options of RedisRunConfig a scale run has no use for: nothing is faulted by name, no failover timed,
# no cluster attached
SCALE_EXCLUDED = ("target", "failover_timeout", "attach", "password_env", "allow_remote", "keep_data")


@dataclass
class ScaleConfig(RedisRunConfig):
    """Settings of scale-out and scale-in (replicas are optional here: nothing fails over)."""

    probe_interval_ms: float = 100.0  # no failover to time
    preload_keys: int = option(200_000, "Keys written before the load starts.")
    value_bytes: int = option(100, "Size of each preloaded value.")
    pipeline: int = option(10, "MIGRATE batches sent per round trip.")
    batch: int = option(100, "Keys per MIGRATE.")
    method: str = option("auto", "How slots move: legacy (SETSLOT IMPORTING/MIGRATING, MIGRATE key batches, ASK "
                         "redirects) or atomic (CLUSTER MIGRATESLOTS: Valkey 9 or later, one job per source and "
                         "target, no ASK); auto takes atomic where every master supports it. result.json says which "
                         "ran.", choices=("auto", "legacy", "atomic"))
    after: float = option(5.0, "Seconds of load after the reshard.")
    kill_during_migration: str | None = option(
        None, "SIGKILL the source or the target master of the first atomic migration job while it runs, let the "
        "cluster fail over, start the node again, and count what happened to the slots in flight and to acknowledged "
        "writes.", choices=("source", "target"))

    def validate(self) -> None:
        super(RedisRunConfig, self).validate()
        parse_server(self.server, "redis")
        if self.method not in ("auto", "legacy", "atomic"):
            raise ChaosError(f"--method must be legacy, atomic or auto, got {self.method!r}")
        if self.kill_during_migration not in (None, "source", "target"):
            raise ChaosError("--kill-during-migration must be source or target")
        if self.kill_during_migration and self.method == "legacy":
            raise ChaosError("--kill-during-migration kills a master in the middle of an atomic migration job; "
                             "use --method atomic (or auto)")
        if self.preload_keys < 0 or self.value_bytes < 1 or self.pipeline < 1 or self.batch < 1 or self.after < 0:
            raise ChaosError("--preload-keys and --after must not be negative; --value-bytes, --pipeline and "
                             "--batch must be at least 1")
        if not 1 <= self.probe_interval_ms <= 1000:
            raise ChaosError("--probe-interval-ms must be between 1 and 1000")



class ScaleState(RedisState):
    """The run state of scale-out and scale-in."""

    migration_method = Slot[str]("how slots move: legacy or atomic")
    preload_prefix = Slot[str | None]("the key prefix of the preloaded keys", default=None)
    step_events = Slot[list[dict[str, Any]]]("the plan's steps for the timeline", factory=list)
    errorstats_first = Slot[dict[str, Any] | None]("each node's redirect counts at the start", default=None)
    errorstats_latest = Slot[dict[str, Any]]("each node's last known redirect counts", factory=dict)
    reshard = Slot[Any]("the slot mover (Reshard or AtomicReshard)", default=None)
    moved_ranges = Slot[dict[str, Any] | None]("source address → the slot ranges it gives away", default=None)
    migration_start_t = Slot[float]("run seconds when the migration began")
    migration_end_t = Slot[float]("run seconds when the migration ended")
    rebalance = Slot[bool]("the slots were evened out (checked at the end)", default=False)
    replicas_per_master = Slot[int | None]("replicas every master should have at the end", default=None)
    settled_t = Slot[float | None]("when every node agreed on the slot map", default=None)
    added = Slot[dict[str, Any]]("the nodes scale-out added (names, ids, stages)")
    leaving = Slot[dict[str, Any]]("the status row of the master scale-in removes")
    leaving_replicas = Slot[list[str]]("the names of its replicas")
    leaving_id = Slot[str]("its node id")
    removed_ids = Slot[list[str]]("node ids removed", factory=list)
    killed_first_slot = Slot[int | None]("the first slot of a master killed mid-migration", default=None)
    replaced = Slot[Any]("who took over the killed source's slots", default=None)
    slots_fixed = Slot[list[Any] | None]("slots a cleanup had to close", default=None)
    slots_half_moved = Slot[list[Any] | None]("half-moved slots the atomic cleanup found", default=None)
    memory = Slot[dict[str, Any] | None]("scale-in's memory budget check", default=None)


ScaleCtx = RunContext[ScaleState, Any]  # with a ScaleConfig


# -- steps -------------------------------------------------------------------------------------
@action(reads=["cluster"], writes=["preload_prefix"])
def preload(ctx: ScaleCtx) -> None:
    """``--preload-keys`` keys of ``--value-bytes`` bytes, without hash tags (spread over every
    slot, unlike redis-benchmark's), pipelined per master."""
    n, size = ctx.config.preload_keys, ctx.config.value_bytes
    if not n:
        return
    cluster = ctx.state.cluster
    started = time.monotonic()
    client = ClusterClient([s.address for s in cluster.specs], timeout=10)
    client.refresh()
    value = "x" * size
    by_node: dict[str, list[str]] = {}

    prefix = f"chaos:pre:{ctx.run.run_id}:"
    for i in range(n):
        key = f"{prefix}{i}"
        by_node.setdefault(client.node_for_slot(key_slot(key.encode())), []).append(key)
    for node, keys in by_node.items():
        conn = client.conn(node)
        for i in range(0, len(keys), 2000):
            conn.call_many([("SET", k, value) for k in keys[i : i + 2000]])
    client.close()
    ctx.state.preload_prefix = prefix
    ctx.say(f"preloaded {n} keys × {size} B over all slots in {time.monotonic() - started:.1f} s")


def step_event(ctx: ScaleCtx, event: str, at: float | None = None, **data: Any) -> None:
    """A step of the scale plan, for the timeline (written once the probes have stopped)."""
    ctx.state.step_events.append(
        {"source": "step", "time": round(ctx.elapsed() if at is None else at, 6), "event": event, **data})


def errorstats(cluster: Any) -> dict[str, dict[str, int]]:
    """Per node address: the MOVED / ASK / TRYAGAIN replies it has sent so far (``INFO errorstats``)."""
    out = {}
    for spec in cluster.specs:
        conn = Connection(spec.host, spec.port, timeout=2)
        try:
            info = parse_info(conn.call("INFO", "errorstats").decode())
        except Exception:  # a node that does not answer counts nothing
            continue
        finally:
            conn.close()
        counts = {}
        for code in ("MOVED", "ASK", "TRYAGAIN"):
            stat = info.get(f"errorstat_{code}", "")  # "count=12"
            counts[code.lower()] = int(stat.split("=", 1)[1].split(",")[0]) if stat.startswith("count=") else 0
        out[spec.address] = counts
    return out


def errorstats_snapshot(ctx: ScaleCtx) -> None:
    """Remember every node's counts (again before nodes leave: theirs would be lost)."""
    now = errorstats(ctx.state.cluster)
    if ctx.state.errorstats_first is None:
        ctx.state.errorstats_first = dict(now)
    ctx.state.errorstats_latest.update(now)


@action(reads=["cluster"])
def errorstats_before(ctx: ScaleCtx) -> None:
    errorstats_snapshot(ctx)


def server_redirects(ctx: ScaleCtx) -> dict[str, int]:
    """Redirects the servers sent during the run: last known count of each node minus its first
    (0 for nodes that joined: they started at 0)."""
    errorstats_snapshot(ctx)
    first, latest = ctx.state.errorstats_first or {}, ctx.state.errorstats_latest
    return {code: sum(counts[code] - first.get(node, {}).get(code, 0) for node, counts in latest.items())
            for code in ("moved", "ask", "tryagain")}


@action(reads=["cluster"], writes=["migration_method"])
def choose_method(ctx: ScaleCtx) -> None:
    """Right after the cluster is up: which path the slots will take (exit 2 before any load
    when atomic is asked of a server without it)."""
    ctx.state.migration_method = migration_method(ctx)
    if ctx.config.kill_during_migration and ctx.state.migration_method != "atomic":
        raise ChaosError("--kill-during-migration needs an atomic migration, and this cluster does not support one "
                         "(Valkey 9 or later: --server valkey:9.1)")
    ctx.say(f"slots will move by {ctx.state.migration_method} migration")


def migration_method(ctx: ScaleCtx) -> str:
    """--method: atomic where every master supports it (auto), or as asked (exit 2 when atomic is
    asked of a server without it)."""
    if ctx.state.provided("migration_method"):
        return ctx.state.migration_method
    cluster, asked = ctx.state.cluster, ctx.config.method
    if asked == "legacy":
        return "legacy"
    infos = [cluster.client(s).info("server") for s in cluster.specs]
    if all(supports_atomic({k: str(v) for k, v in i.items()}) for i in infos):
        return "atomic"
    if asked == "atomic":
        raise ChaosError(f"--method atomic needs CLUSTER MIGRATESLOTS (Valkey 9 or later); this cluster runs "
                         f"{server_version(infos[0])}: use --method legacy, or --server valkey:9.1")
    return "legacy"


@action(reads=["cluster"], writes=["settled_t"])
def settle(ctx: ScaleCtx, timeout: float = 30.0) -> None:
    """Wait until every node agrees on every slot's owner and says cluster_state:ok."""
    cluster = ctx.state.cluster

    def agreed() -> bool:
        state = end_state(cluster, check_keys=False)
        return state["nodes_agree"] and state["slots_owned_once"] and state["nodes_not_ok"] == 0
    if not ctx.wait_until(agreed, timeout, 0.1):
        ctx.say(f"the nodes did not agree on the slot map within {timeout:g} s")
    else:
        ctx.say(f"settled: every node agrees on all {SLOTS} slots")
    ctx.state.settled_t = ctx.elapsed()
    step_event(ctx, "settled")


@action(reads=["cluster", "probe"])
def stop_scale_load(ctx: ScaleCtx) -> None:
    """Stop the load and the probes; every step, timestamped, goes beside the samples."""
    stop_load_and_probe(ctx)
    append_timeline(ctx.run.dir / "timeline.jsonl", ctx.state.step_events, source=None)


@action(reads=["cluster", "probe", "migration_start_t", "migration_end_t"])
def measure_scale(ctx: ScaleCtx) -> None:
    """The end state, the reshard's summary, redirects and preloaded keys, then the final read
    and the plan's measure."""
    cluster = ctx.state.cluster
    mover = ctx.state.reshard
    removed = ctx.state.removed_ids
    ctx.say("checking the end state; final read of every key written")
    live = {
        "end_state": end_state(cluster, removed, replicas_per_master=ctx.state.replicas_per_master),
        "server_redirects": server_redirects(ctx),
        "reshard": summarize_jobs(mover.jobs, mover.addresses) if isinstance(mover, AtomicReshard) else
        {**summarize(mover.moved if mover else []), "method": "legacy"},
        "preload_missing": preload_missing(cluster, ctx.state.preload_prefix, ctx.config.preload_keys),
        "probe_samples": ctx.state.probe.samples,
        "load_generator": ctx.state.load_generator,
        "slots_in_flight": slots_in_flight(cluster, (ctx.outcome.fault or {}).get("job_ranges")),
        # atomic: measured now, after the cluster settled (the cleanup's own check comes after the verdict)
        "slots_half_moved": half_moved(addresses(cluster), mover.jobs) if isinstance(mover, AtomicReshard) else [],
    }
    measure_live(ctx, ClusterFinalRead([s.address for s in cluster.specs]), live)


def after_steps() -> list[Step]:
    """The end of every scale plan: settle, keep the load going --after seconds, stop it, measure."""
    return [
        Phase("after"),
        Do(settle),
        SleepUntil(lambda c: max(c.state.migration_end_t + c.config.after, c.config.duration),
                   reads=["migration_end_t"], name="after"),
        Do(stop_scale_load),
        Do(measure_scale),
    ]
