"""Steps and measurements of scale-out and scale-in plans: preload, add or drain-and-remove
nodes, move slots under load with live progress, heal open slots on any interruption, and check
the cluster's end state."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.checkers.compose import Check
from chaos.clients.resp import ClusterClient, Connection, RespError
from chaos.engine import RunContext, measure_live
from chaos.errors import ChaosError
from chaos.runner import ClusterFinalRead, analyze_history
from chaos.servers import parse_server
from chaos.steps.redis_cluster import REDIS_KNOWN, RedisRunConfig, load_generator_check, stop_probe
from chaos.topology.redis_cluster import server_version
from chaos.topology.redis_info import SLOTS, parse_cluster_nodes, parse_info
from chaos.topology.reshard import (
    AtomicJob,
    AtomicReshard,
    Reshard,
    SlotMoved,
    fix_open_slots,
    half_moved,
    slot_ranges,
    summarize,
    summarize_jobs,
    supports_atomic,
)

RESHARD_LOG = "reshard.jsonl"
HEADLINE = ["slots_moved", "keys_migrated", "migration_seconds", "keys_per_second", "throughput_dip",
            "recovery_seconds", "moved_slots_write_pause_seconds", "lost_writes"]
KNOWN = REDIS_KNOWN | {"slots_moved", "keys_migrated", "bytes_migrated", "migration_seconds", "keys_per_second",
                       "throughput_dip", "recovery_seconds", "slot_seconds.p50", "slot_seconds.p99", "slot_seconds.max",
                       "ops_per_second.before", "ops_per_second.during", "ops_per_second.after",
                       "client_redirects.ask", "client_redirects.moved", "client_redirects.tryagain",
                       "preloaded_keys_missing", "moved_slots_write_pause_seconds"}


@dataclass
class ScaleConfig(RedisRunConfig):
    """Settings of scale-out and scale-in (replicas are optional here: nothing fails over)."""

    preload_keys: int = 200_000
    value_bytes: int = 100
    pipeline: int = 10
    batch: int = 100
    after: float = 5.0  # seconds of load after the reshard
    method: str = "auto"  # legacy (SETSLOT + MIGRATE) | atomic (CLUSTER MIGRATESLOTS, Valkey >= 9) | auto
    kill_during_migration: str | None = None  # source | target: SIGKILL that master mid-job (atomic)

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


def masters_view(cluster: Any) -> list[Any]:
    """The masters (ClusterNode) as the first answering node sees them."""
    for spec in cluster.specs:
        try:
            return [n for n in parse_cluster_nodes(cluster.client(spec).execute_command("CLUSTER", "NODES"))
                    if n.is_master and "fail" not in n.flags]
        except Exception:
            continue
    raise ChaosError("no node of the cluster answers CLUSTER NODES")


def addresses(cluster: Any) -> dict[str, str]:
    """Node id → address of every master."""
    return {n.node_id: n.address for n in masters_view(cluster)}


# -- steps -------------------------------------------------------------------------------------
def preload(ctx: RunContext) -> None:
    """``--preload-keys`` keys of ``--value-bytes`` bytes, without hash tags (spread over every
    slot, unlike redis-benchmark's), pipelined per master."""
    n, size = ctx.config.preload_keys, ctx.config.value_bytes
    if not n:
        return
    cluster = ctx.vars["cluster"]
    started = time.monotonic()
    client = ClusterClient([s.address for s in cluster.specs], timeout=10)
    client.refresh()
    value = "x" * size
    by_node: dict[str, list[str]] = {}
    from redis.crc import key_slot

    prefix = f"chaos:pre:{ctx.run.run_id}:"
    for i in range(n):
        key = f"{prefix}{i}"
        by_node.setdefault(client.slot_owner[key_slot(key.encode())], []).append(key)
    for node, keys in by_node.items():
        conn = client.conn(node)
        for i in range(0, len(keys), 2000):
            conn.call_many([("SET", k, value) for k in keys[i : i + 2000]])
    client.close()
    ctx.vars["preload_prefix"] = prefix
    ctx.say(f"preloaded {n} keys × {size} B over all slots in {time.monotonic() - started:.1f} s")


def step_event(ctx: RunContext, event: str, at: float | None = None, **data: Any) -> None:
    """A step of the scale plan, for the timeline (written once the probes have stopped)."""
    ctx.vars.setdefault("step_events", []).append(
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


def errorstats_snapshot(ctx: RunContext) -> None:
    """Remember every node's counts (again before nodes leave: theirs would be lost)."""
    latest = ctx.vars.setdefault("errorstats_latest", {})
    now = errorstats(ctx.vars["cluster"])
    ctx.vars.setdefault("errorstats_first", dict(now))
    latest.update(now)


def errorstats_before(ctx: RunContext) -> None:
    errorstats_snapshot(ctx)


def server_redirects(ctx: RunContext) -> dict[str, int]:
    """Redirects the servers sent during the run: last known count of each node minus its first
    (0 for nodes that joined: they started at 0)."""
    errorstats_snapshot(ctx)
    first, latest = ctx.vars["errorstats_first"], ctx.vars["errorstats_latest"]
    return {code: sum(counts[code] - first.get(node, {}).get(code, 0) for node, counts in latest.items())
            for code in ("moved", "ask", "tryagain")}


def choose_method(ctx: RunContext) -> None:
    """Right after the cluster is up: which path the slots will take (exit 2 before any load
    when atomic is asked of a server without it)."""
    ctx.vars["migration_method"] = migration_method(ctx)
    if ctx.config.kill_during_migration and ctx.vars["migration_method"] != "atomic":
        raise ChaosError("--kill-during-migration needs an atomic migration, and this cluster does not support one "
                         "(Valkey 9 or later: --server valkey:9.1)")
    ctx.say(f"slots will move by {ctx.vars['migration_method']} migration")


def migration_method(ctx: RunContext) -> str:
    """--method: atomic where every master supports it (auto), or as asked (exit 2 when atomic is
    asked of a server without it)."""
    if ctx.vars.get("migration_method"):
        return ctx.vars["migration_method"]
    cluster, asked = ctx.vars["cluster"], ctx.config.method
    if asked == "legacy":
        return "legacy"
    infos = [cluster.client(s).info("server") for s in cluster.specs]
    if all(supports_atomic({k: str(v) for k, v in i.items()}) for i in infos):
        return "atomic"
    if asked == "atomic":
        raise ChaosError(f"--method atomic needs CLUSTER MIGRATESLOTS (Valkey 9 or later); this cluster runs "
                         f"{server_version(infos[0])}: use --method legacy, or --server valkey:9.1")
    return "legacy"


def run_reshard(ctx: RunContext, moves: list[tuple[int, str, str]], what: str) -> None:
    """Move ``moves`` with live progress, by ``--method``; a fix of open slots (legacy) or a
    cancel of running jobs and a check that nothing is half-moved (atomic) goes on the cleanup
    stack first, so an interrupted or failed reshard leaves no slot open."""
    method = ctx.vars["migration_method"] = migration_method(ctx)
    ids = addresses(ctx.vars["cluster"])
    by_source: dict[str, list[int]] = {}
    for slot, source, _ in moves:
        by_source.setdefault(ids.get(source, source), []).append(slot)
    ctx.outcome.context["moved_ranges"] = {src: slot_ranges(slots) for src, slots in by_source.items()}
    if method == "atomic":
        run_atomic(ctx, moves, what, ids)
        return
    run = ctx.run
    log = open(run.dir / RESHARD_LOG, "a")
    ctx.cleanup(log.close)
    ctx.cleanup(heal_open_slots, ctx)
    shown = {"at": time.monotonic(), "keys": 0}
    total = len(moves)

    def on_slot(m: SlotMoved) -> None:
        log.write(json.dumps({"time": round(run.elapsed(m.started), 6), "slot": m.slot, "source": ids[m.source],
                              "target": ids[m.target], "keys": m.keys, "bytes": m.bytes,
                              "seconds": round(m.seconds, 6)}) + "\n")
        now = time.monotonic()
        if now - shown["at"] >= 1.0 or len(mover.moved) == total:
            keys = sum(x.keys for x in mover.moved)
            rate = (keys - shown["keys"]) / max(now - shown["at"], 1e-9)
            ctx.say(f"{what}: {len(mover.moved)}/{total} slots, {keys} keys ({rate / 1000:.1f}k keys/s)")
            shown.update(at=now, keys=keys)

    mover = Reshard(ids, batch=ctx.config.batch, pipeline=ctx.config.pipeline, on_slot=on_slot)
    ctx.vars["reshard"] = mover
    migrate(ctx, total, lambda: mover.move(moves), mover.close, log.flush)
    summary = summarize(mover.moved)
    ctx.say(f"{what}: done, {summary['slots_moved']} slots and {summary['keys_migrated']} keys in "
            f"{summary['migration_seconds']:.1f} s")


def migrate(ctx: RunContext, total: int, move: Any, *finally_: Any) -> None:
    """The migration between its timeline markers (nemesis ``reshard`` invoke → ok)."""
    ctx.vars["migration_start_t"] = ctx.elapsed()
    step_event(ctx, "migration_started", slots=total, method=ctx.vars["migration_method"])
    ctx.run.fault("invoke", "reshard", f"{total} slots ({ctx.vars['migration_method']})")
    try:
        move()
    finally:
        for action in finally_:
            action()
    ctx.run.fault("ok", "reshard", f"{total} slots")
    ctx.vars["migration_end_t"] = ctx.elapsed()
    step_event(ctx, "migration_finished", slots=total)


def run_atomic(ctx: RunContext, moves: list[tuple[int, str, str]], what: str, ids: dict[str, str]) -> None:
    """One CLUSTER MIGRATESLOTS job per (source, target), progress from GETSLOTMIGRATIONS."""
    run = ctx.run
    shown = {"at": 0.0}
    pairs = len({(m[1], m[2]) for m in moves})

    kill = ctx.config.kill_during_migration

    def on_progress(job: AtomicJob, entry: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - shown["at"] >= 1.0 or job.state in ("success", "failed", "cancelled"):
            ctx.say(f"{what}: job {len(mover.jobs)}/{pairs} ({job.slots} slots, {job.keys} keys, "
                    f"{ids[job.source]} → {ids[job.target]}): {job.state} after {now - job.started:.2f} s")
            shown["at"] = now
        if kill and "kill" not in ctx.faults and job.state not in ("success", "failed", "cancelled"):
            kill_mid_job(ctx, job, ids, entry)

    mover = AtomicReshard(ids, on_progress=on_progress, timeout=120.0 if kill else 600.0)
    ctx.vars["reshard"] = mover
    ctx.cleanup(cancel_atomic, ctx)
    try:
        migrate(ctx, len(moves), lambda: move_until_killed(ctx, mover, moves), mover.close)
    finally:
        with open(run.dir / RESHARD_LOG, "a") as log:
            for job in mover.jobs:
                log.write(json.dumps({"time": round(run.elapsed(job.started), 6), "method": "atomic",
                                      "source": ids[job.source], "target": ids[job.target], "slots": job.slots,
                                      "keys": job.keys, "seconds": round(job.seconds, 6), "state": job.state,
                                      "message": job.message}) + "\n")
    summary = summarize_jobs(mover.jobs)
    ctx.say(f"{what}: done (atomic), {summary['slots_moved']} slots and {summary['keys_migrated']} keys in "
            f"{summary['migration_seconds']:.2f} s")


def kill_mid_job(ctx: RunContext, job: AtomicJob, ids: dict[str, str], entry: dict[str, Any]) -> None:
    """--kill-during-migration: SIGKILL the job's source or target master while the job runs."""
    from chaos.faults import Kill

    role = ctx.config.kill_during_migration
    cluster = ctx.vars["cluster"]
    spec = cluster.spec(ids[job.source if role == "source" else job.target])
    ctx.inject(Kill(cluster.backend, spec.name, after_start=cluster.save,
                    detail=f" ({role} of the running migration job, state {entry.get('state')})"), key="kill")
    ctx.say(f"killed {spec.name} ({spec.address}), the {role} of the migration, "
            f"{time.monotonic() - job.started:.3f} s into the job ({entry.get('state')})")
    ctx.outcome.fault = {"kind": "kill", "target": spec.address, "target_name": spec.name, "target_role": role,
                         "during": "atomic migration", "job_state": entry.get("state"),
                         "job_ranges": [list(r) for r in job.ranges]}
    ctx.vars["fault_t"] = ctx.vars["kill_t"]


def move_until_killed(ctx: RunContext, mover: AtomicReshard, moves: list[tuple[int, str, str]]) -> None:
    """The jobs; with --kill-during-migration a job that fails is what is being measured: it is
    recorded (and the jobs after it are not started), not raised."""
    try:
        mover.move(moves, stop=lambda: "kill" in ctx.faults)
    except (ChaosError, RespError) as exc:
        if "kill" not in ctx.faults:
            raise
        job = mover.jobs[-1]
        ctx.say(f"the migration job ended {job.state} after the kill: {job.message or exc}")
    ctx.vars["rebalance"] = ctx.vars.get("rebalance", False) and "kill" not in ctx.faults


def cancel_atomic(ctx: RunContext) -> None:
    """Cleanup: cancel atomic jobs still running (Ctrl-C, a crash), then check that no slot was
    left half-moved (keys on a node that does not own their slot)."""
    mover = ctx.vars.get("reshard")
    if not isinstance(mover, AtomicReshard) or not mover.jobs:
        return
    told = mover.cancel()
    if told:
        ctx.run.fault("ok", "cancel-migrations", ",".join(told))
        ctx.say(f"cancelled the running slot migration on {', '.join(told)}")
        time.sleep(0.5)
    problems = half_moved(addresses(ctx.vars["cluster"]), mover.jobs)
    ctx.outcome.context["slots_half_moved"] = problems
    if problems:
        ctx.say(f"warning: {len(problems)} slot(s) left half-moved: {problems[0]}")
    elif told:
        ctx.say("nothing was left half-moved")
    mover.close()


def heal_open_slots(ctx: RunContext) -> None:
    """Cleanup: close any slot the reshard left open (recorded as the nemesis' ``fix-slots``)."""
    deadline = time.monotonic() + 30
    while True:  # a node can refuse for a while (CLUSTERDOWN while it learns the slot map)
        try:
            ids = addresses(ctx.vars["cluster"])  # the masters now (some may have left since)
            fixes = fix_open_slots(ids, ctx.say)
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise ChaosError(f"could not close the open slots ({exc}); run `redis-cli --cluster fix "
                                 f"{next(iter(ids.values()))}`") from None
            time.sleep(1.0)
    if fixes:
        ctx.run.fault("ok", "fix-slots", f"{len(fixes)} slot(s)")
        ctx.outcome.context["slots_fixed"] = fixes


def settle(ctx: RunContext, timeout: float = 30.0) -> None:
    """Wait until every node agrees on every slot's owner and says cluster_state:ok."""
    cluster = ctx.vars["cluster"]

    def agreed() -> bool:
        state = end_state(cluster, check_keys=False)
        return state["nodes_agree"] and state["slots_owned_once"] and state["nodes_not_ok"] == 0
    if not ctx.wait_until(agreed, timeout, 0.1):
        ctx.say(f"the nodes did not agree on the slot map within {timeout:g} s")
    else:
        ctx.say(f"settled: every node agrees on all {SLOTS} slots")
    ctx.vars["settled_t"] = ctx.elapsed()
    step_event(ctx, "settled")


def stop_load_and_probe(ctx: RunContext) -> None:
    load_generator_check(ctx)
    ctx.load.stop()
    ctx.say(f"load stopped after {ctx.elapsed():.1f} s")
    stop_probe(ctx)
    with open(ctx.run.dir / "timeline.jsonl", "a") as out:  # every step, timestamped, beside the samples
        for event in ctx.vars.get("step_events", []):
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
    ctx.outcome.topology["after"] = ctx.vars["cluster"].status()


def measure_scale(ctx: RunContext, removed_ids: list[str] | None = None) -> None:
    cluster = ctx.vars["cluster"]
    mover = ctx.vars.get("reshard")
    ctx.outcome.context.update({
        "phases": ctx.run.phases, "migration_start_t": ctx.vars.get("migration_start_t"),
        "migration_end_t": ctx.vars.get("migration_end_t"), "rebalance": ctx.vars.get("rebalance", False),
        "removed": removed_ids or [],
    })
    ctx.say("checking the end state; final read of every key written")
    live = {
        "end_state": end_state(cluster, removed_ids or [], replicas_per_master=ctx.vars.get("replicas_per_master")),
        "server_redirects": server_redirects(ctx),
        "reshard": summarize_jobs(mover.jobs, mover.addresses) if isinstance(mover, AtomicReshard) else
        {**summarize(mover.moved if mover else []), "method": "legacy"},
        "preload_missing": preload_missing(cluster, ctx.vars.get("preload_prefix"), ctx.config.preload_keys),
        "probe_samples": ctx.vars["probe"].samples,
        "load_generator": ctx.vars.get("load_generator"),
        "slots_in_flight": slots_in_flight(cluster, (ctx.outcome.fault or {}).get("job_ranges")),
        # atomic: measured now, after the cluster settled (the cleanup's own check comes after the verdict)
        "slots_half_moved": half_moved(addresses(cluster), mover.jobs) if isinstance(mover, AtomicReshard) else [],
    }
    measure_live(ctx, ClusterFinalRead([s.address for s in cluster.specs]), live)


def slots_in_flight(cluster: Any, ranges: list[list[int]] | None) -> dict[str, Any] | None:
    """Where the slots of a job interrupted by a kill ended up: owner address → slot count."""
    if not ranges:
        return None
    owner = {}
    for n in masters_view(cluster):
        for lo, hi in n.slots:
            for slot in range(lo, hi + 1):
                owner[slot] = n.address
    counts: dict[str, int] = {}
    for lo, hi in ranges:
        for slot in range(lo, hi + 1):
            where = owner.get(slot, "unowned")
            counts[where] = counts.get(where, 0) + 1
    return {"slots": sum(hi - lo + 1 for lo, hi in ranges), "owners": counts}


def preload_missing(cluster: Any, prefix: str | None, count: int, sample: int = 20_000) -> int | None:
    """How many of (a sample of) the preloaded keys are missing now."""
    if not prefix or not count:
        return None
    step = max(1, count // sample)
    keys = [f"{prefix}{i}" for i in range(0, count, step)]
    client = ClusterClient([s.address for s in cluster.specs], timeout=5)
    try:
        client.refresh()
        found = client.read_keys(keys)
    finally:
        client.close()
    return sum(1 for k in keys if found.get(k) is None)


def end_state(cluster: Any, removed_ids: list[str] | tuple[str, ...] = (), check_keys: bool = True,
              replicas_per_master: int | None = None) -> dict[str, Any]:
    """The cluster after a reshard, from every node: each slot owned once and every node
    agreeing, open slots, keys on a node that does not own their slot, replicas linked,
    cluster_state, slot balance, and nodes still known although removed."""
    views: dict[str, dict[int, str]] = {}
    open_slots = misplaced = not_ok = unlinked = knowing_removed = 0
    slots_owned_once = True
    per_master: dict[str, int] = {}
    replicas_of: dict[str, int] = {}
    for spec in cluster.specs:
        conn = Connection(spec.host, spec.port, timeout=5)
        try:
            nodes = parse_cluster_nodes(conn.call("CLUSTER", "NODES").decode())
            info = parse_info(conn.call("CLUSTER", "INFO").decode())
            repl = parse_info(conn.call("INFO", "replication").decode())
            me = next(n for n in nodes if n.is_myself)
            owner: dict[int, str] = {}
            for n in nodes:
                if n.is_master:
                    for lo, hi in n.slots:
                        for slot in range(lo, hi + 1):
                            if slot in owner:
                                slots_owned_once = False
                            owner[slot] = n.address
            if len(owner) != SLOTS:
                slots_owned_once = False
            views[spec.name] = owner
            open_slots += len(me.migrating) + len(me.importing)
            not_ok += info.get("cluster_state") != "ok"
            knowing_removed += bool(set(removed_ids) & {n.node_id for n in nodes})
            if me.is_master:
                per_master[spec.address] = sum(hi - lo + 1 for lo, hi in me.slots)
                if check_keys:
                    mine = {s for lo, hi in me.slots for s in range(lo, hi + 1)}
                    others = [s for s in range(SLOTS) if s not in mine]
                    counts = conn.call_many([("CLUSTER", "COUNTKEYSINSLOT", s) for s in others])
                    misplaced += sum(c for c in counts if isinstance(c, int))
            else:
                master = next((n.address for n in nodes if n.node_id == me.master_id), None)
                replicas_of[master] = replicas_of.get(master, 0) + 1
                unlinked += repl.get("master_link_status") != "up"
        finally:
            conn.close()
    first = next(iter(views.values()), {})
    masters_with_slots = [a for a, n in per_master.items() if n]
    ideal = SLOTS / max(1, len(masters_with_slots))
    counts = [per_master[a] for a in masters_with_slots]
    return {
        "slots_owned_once": slots_owned_once,
        "nodes_agree": all(v == first for v in views.values()),
        "open_slots": open_slots,
        "misplaced_keys": misplaced if check_keys else None,
        "replicas_unlinked": unlinked + (sum(max(0, replicas_per_master - replicas_of.get(a, 0))
                                             for a in masters_with_slots) if replicas_per_master else 0),
        "nodes_not_ok": not_ok,
        "slots_per_master": per_master,
        "slot_imbalance": round((max(counts) - min(counts)) / ideal, 6) if counts else None,
        "nodes_knowing_removed": knowing_removed,
    }


# -- measurements (pure over the run directory's files) -------------------------------------------
def measure(run_dir: Path, ctx: dict[str, Any], read_final: Any, live: dict[str, Any]) -> tuple[dict, list]:
    # per source master: the longest time no write to the slots it gave away succeeded
    moved = {s: src for src, ranges in (ctx.get("moved_ranges") or {}).items() for lo, hi in ranges
             for s in range(lo, hi + 1)}
    analysis = analyze_history(run_dir / "history.jsonl", read_final, lambda op: moved.get(key_slot(op.key.encode())),
                               [tuple(p) for p in ctx["phases"]])
    by_source = analysis.availability
    worst = max(by_source.values(), key=lambda a: a["longest_unavailable_seconds"], default={})
    w, c = analysis.writes, analysis.counters
    (run_dir / "lost-writes.txt").write_text("".join(f"{k}\n" for k in w.pop("lost_keys")))
    seconds = _seconds(run_dir / "load-seconds.jsonl")
    # live: measured at the end of the run; or, for `chaos analyze`, the measurements stored then
    reshard = live.get("reshard") or {k: live.get(k) for k in summarize([])}
    m: dict[str, Any] = {
        **reshard,
        "client_redirects": {k: sum(s.get(k, 0) for s in seconds) for k in ("moved", "ask", "tryagain")},
        "server_redirects": live["server_redirects"],
        **throughput(seconds, ctx["phases"], ctx.get("migration_start_t"), ctx.get("migration_end_t")),
        "latency_ms": analysis.latency,
        "lost_writes": w["lost"], "lost_increments": c["lost_increments"],
        "unacked_applied_writes": w["unacked_applied"], "ops": analysis.ops, "writes": w,
        "preloaded_keys_missing": live.get("preload_missing", live.get("preloaded_keys_missing")),
        "moved_slots_write_pause_seconds": worst.get("longest_unavailable_seconds"),
        "moved_slots_write_pause_window": worst.get("longest_window"),
        "moved_slots_write_pause_by_source": {src: a["longest_unavailable_seconds"] for src, a in by_source.items()},
        "slots_in_flight": live.get("slots_in_flight"),
        "end_state": live["end_state"], "slots_fixed": ctx.get("slots_fixed", []),
        "slots_half_moved": live.get("slots_half_moved", []),
        "probe_samples": live.get("probe_samples"),
        "load_generator": live.get("load_generator"),
    }
    checks = [
        Check("every_slot_owned_once", "end_state.slots_owned_once", bool),
        Check("nodes_agree_on_slots", "end_state.nodes_agree", bool),
        Check("no_open_slots", "end_state.open_slots", lambda v: v == 0, "==0"),
        Check("no_misplaced_keys", "end_state.misplaced_keys", lambda v: v == 0, "==0"),
        Check("replicas_linked", "end_state.replicas_unlinked", lambda v: v == 0, "==0"),
        Check("cluster_ok_everywhere", "end_state.nodes_not_ok", lambda v: v == 0, "==0"),
        Check("no_lost_writes", "lost_writes", lambda v: v == 0, "==0"),
        Check("no_lost_increments", "lost_increments", lambda v: v == 0, "==0"),
        Check("no_preloaded_key_lost", "preloaded_keys_missing", lambda v: not v, "==0"),
    ]
    if m.get("method") == "atomic":  # a cancelled or failed job must leave no key where its slot is not owned
        checks.append(Check("no_slot_half_moved", "slots_half_moved", lambda v: not v, "==0", shown=len))
    if ctx.get("rebalance"):
        checks.append(Check("slots_balanced", "end_state.slot_imbalance", lambda v: v is not None and v <= 0.02,
                            "<=0.02"))
    if ctx.get("removed"):
        checks.append(Check("removed_nodes_forgotten", "end_state.nodes_knowing_removed", lambda v: v == 0, "==0"))
    return m, checks


def _seconds(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path) as lines:
            return [json.loads(line) for line in lines]
    except FileNotFoundError:
        return []


def throughput(seconds: list[dict[str, Any]], phases: list[Any], start: float | None,
               end: float | None) -> dict[str, Any]:
    """Acknowledged ops/s before, during and after the migration, the depth of the dip and the
    time after the migration until a second is back within 5 % of the baseline (pure)."""
    if start is None or end is None or not seconds:
        return {"ops_per_second": {}, "throughput_dip": None, "recovery_seconds": None}
    first_load = phases[0][1] if phases else 0.0
    before = [s["ok"] for s in seconds if first_load + 1.5 <= s["t"] <= start]  # skip the ramp-up
    during = [s["ok"] for s in seconds if start < s["t"] <= end + 1]
    after = [s for s in seconds if s["t"] > end + 1]
    baseline = sum(before) / len(before) if before else None
    out: dict[str, Any] = {"ops_per_second": {
        "before": round(baseline, 1) if baseline else None,
        "during": round(sum(during) / len(during), 1) if during else None,
        "after": round(sum(s["ok"] for s in after[:-1]) / len(after[:-1]), 1) if len(after) > 1 else None,
    }}
    out["throughput_dip"] = round(1 - min(during) / baseline, 4) if baseline and during else None
    back = next((s["t"] for s in seconds if s["t"] > end and baseline and s["ok"] >= 0.95 * baseline), None)
    out["recovery_seconds"] = round(max(0.0, back - 1 - end), 3) if back is not None else None
    return out


def after_steps() -> list[Any]:
    """The end of every scale plan: settle, keep the load going --after seconds, stop it."""
    from chaos.engine import Do, Phase, SleepUntil

    return [
        Phase("after"),
        Do(settle),
        SleepUntil(lambda c: max(c.vars["migration_end_t"] + c.config.after, c.config.duration), name="after"),
        Do(stop_load_and_probe),
    ]
