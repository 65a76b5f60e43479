"""Moving slots under load with live progress: legacy (SETSLOT IMPORTING/MIGRATING, MIGRATE
batches) or atomic (CLUSTER MIGRATESLOTS jobs); a fix of open slots, or a cancel of running jobs
and a check for half-moved slots, goes on the cleanup stack first."""

from __future__ import annotations

import json
import time
from typing import Any

from chaos.clients.resp import RespError
from chaos.errors import ChaosError
from chaos.steps.scale import RESHARD_LOG, ScaleCtx, migration_method, step_event
from chaos.steps.scale_end_state import addresses
from chaos.topology.reshard import Reshard, SlotMoved, fix_open_slots, summarize
from chaos.topology.reshard_atomic import AtomicJob, AtomicReshard, half_moved, summarize_jobs
from chaos.topology.reshard_plan import slot_ranges

# what a step that calls run_reshard writes of the run state (and the fault it may inject)
MIGRATION_WRITES = ("migration_method", "moved_ranges", "reshard", "migration_start_t", "migration_end_t",
                    "rebalance")


def run_reshard(ctx: ScaleCtx, moves: list[tuple[int, str, str]], what: str) -> None:
    """Move ``moves`` with live progress, by ``--method``; a fix of open slots (legacy) or a
    cancel of running jobs and a check that nothing is half-moved (atomic) goes on the cleanup
    stack first, so an interrupted or failed reshard leaves no slot open."""
    method = ctx.state.migration_method = migration_method(ctx)
    ids = addresses(ctx.state.cluster)
    by_source: dict[str, list[int]] = {}
    for slot, source, _ in moves:
        by_source.setdefault(ids.get(source, source), []).append(slot)
    ctx.state.moved_ranges = {src: slot_ranges(slots) for src, slots in by_source.items()}
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
    ctx.state.reshard = mover
    migrate(ctx, total, lambda: mover.move(moves), mover.close, log.flush)
    summary = summarize(mover.moved)
    ctx.say(f"{what}: done, {summary['slots_moved']} slots and {summary['keys_migrated']} keys in "
            f"{summary['migration_seconds']:.1f} s")


def migrate(ctx: ScaleCtx, total: int, move: Any, *finally_: Any) -> None:
    """The migration between its timeline markers (nemesis ``reshard`` invoke → ok)."""
    ctx.state.migration_start_t = ctx.elapsed()
    step_event(ctx, "migration_started", slots=total, method=ctx.state.migration_method)
    ctx.run.nemesis_op("invoke", "reshard", f"{total} slots ({ctx.state.migration_method})")
    try:
        move()
    finally:
        for action in finally_:
            action()
    ctx.run.nemesis_op("ok", "reshard", f"{total} slots")
    ctx.state.migration_end_t = ctx.elapsed()
    step_event(ctx, "migration_finished", slots=total)


def run_atomic(ctx: ScaleCtx, moves: list[tuple[int, str, str]], what: str, ids: dict[str, str]) -> None:
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
        if kill and "kill" not in ctx.ledger and job.state not in ("success", "failed", "cancelled"):
            kill_mid_job(ctx, job, ids, entry)

    mover = AtomicReshard(ids, on_progress=on_progress, timeout=120.0 if kill else 600.0)
    ctx.state.reshard = mover
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


def kill_mid_job(ctx: ScaleCtx, job: AtomicJob, ids: dict[str, str], entry: dict[str, Any]) -> None:
    """--kill-during-migration: SIGKILL the job's source or target master while the job runs."""
    from chaos.faults import Kill

    role = ctx.config.kill_during_migration
    cluster = ctx.state.cluster
    spec = cluster.spec(ids[job.source if role == "source" else job.target])
    ctx.inject(Kill(cluster.backend, spec.name, after_start=cluster.save,
                    detail=f" ({role} of the running migration job, state {entry.get('state')})"), key="kill")
    ctx.say(f"killed {spec.name} ({spec.address}), the {role} of the migration, "
            f"{time.monotonic() - job.started:.3f} s into the job ({entry.get('state')})")
    ctx.outcome.fault = {"kind": "kill", "target": spec.address, "target_name": spec.name, "target_role": role,
                         "during": "atomic migration", "job_state": entry.get("state"),
                         "job_ranges": [list(r) for r in job.ranges]}


def move_until_killed(ctx: ScaleCtx, mover: AtomicReshard, moves: list[tuple[int, str, str]]) -> None:
    """The jobs; with --kill-during-migration a job that fails is what is being measured: it is
    recorded (and the jobs after it are not started), not raised."""
    try:
        mover.move(moves, stop=lambda: "kill" in ctx.ledger)
    except (ChaosError, RespError) as exc:
        if "kill" not in ctx.ledger:
            raise
        job = mover.jobs[-1]
        ctx.say(f"the migration job ended {job.state} after the kill: {job.message or exc}")
    ctx.state.rebalance = ctx.state.rebalance and "kill" not in ctx.ledger


def cancel_atomic(ctx: ScaleCtx) -> None:
    """Cleanup: cancel atomic jobs still running (Ctrl-C, a crash), then check that no slot was
    left half-moved (keys on a node that does not own their slot)."""
    mover = ctx.state.reshard
    if not isinstance(mover, AtomicReshard) or not mover.jobs:
        return
    told = mover.cancel()
    if told:
        ctx.run.nemesis_op("ok", "cancel-migrations", ",".join(told))
        ctx.say(f"cancelled the running slot migration on {', '.join(told)}")
        time.sleep(0.5)
    problems = half_moved(addresses(ctx.state.cluster), mover.jobs)
    ctx.state.slots_half_moved = problems
    if problems:
        ctx.say(f"warning: {len(problems)} slot(s) left half-moved: {problems[0]}")
    elif told:
        ctx.say("nothing was left half-moved")
    mover.close()


def heal_open_slots(ctx: ScaleCtx) -> None:
    """Cleanup: close any slot the reshard left open (recorded as the nemesis' ``fix-slots``)."""
    deadline = time.monotonic() + 30
    while True:  # a node can refuse for a while (CLUSTERDOWN while it learns the slot map)
        try:
            ids = addresses(ctx.state.cluster)  # the masters now (some may have left since)
            fixes = fix_open_slots(ids, ctx.say)
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise ChaosError(f"could not close the open slots ({exc}); run `redis-cli --cluster fix "
                                 f"{next(iter(ids.values()))}`") from None
            time.sleep(1.0)
    if fixes:
        ctx.run.nemesis_op("ok", "fix-slots", f"{len(fixes)} slot(s)")
        ctx.state.slots_fixed = fixes
