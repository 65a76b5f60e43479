"""scale-out: grow a Redis Cluster under load: start new masters (and their replicas), join
them, attach the replicas, move slots to the new masters natively with live progress, settle,
keep the load going, then check the end state and that no acknowledged write was lost."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.engine import Do, Heal, Phase, Plan, SleepUntil, WaitUntil, action
from chaos.engine.command import scenario_command
from chaos.errors import ChaosError
from chaos.measure_context import ScaleContext
from chaos.options import option
from chaos.steps.redis_cluster import provision_cluster, start_probe_and_load
from chaos.steps.scale import (
    HEADLINE,
    KNOWN,
    SCALE_EXCLUDED,
    ScaleConfig,
    ScaleCtx,
    ScaleState,
    after_steps,
    choose_method,
    errorstats_before,
    preload,
    step_event,
)
from chaos.steps.scale_end_state import addresses, masters_view
from chaos.steps.scale_measure import measure
from chaos.steps.scale_migration import MIGRATION_WRITES, run_reshard
from chaos.topology.redis_info import parse_slot_ranges
from chaos.topology.reshard_plan import owners_by_master, plan_rebalance

NAME = "scale-out"
SUMMARY = "Add masters (and replicas) to a Redis Cluster under load and move slots to them"


@dataclass
class ScaleOutConfig(ScaleConfig):
    add_masters: int = option(1, "New masters to add.")
    add_replicas_per_master: int | None = option(None, "Replicas of each new master [default: --replicas-per-master].")
    slots: int | None = option(None, "Move this many slots to the new masters [default: --rebalance].")
    rebalance: bool = option(False, "Move as many slots as evens the cluster out (the default).")

    def validate(self) -> None:
        super().validate()
        if self.rebalance and self.slots is not None:
            raise ChaosError("give either --slots N or --rebalance, not both")
        if not 1 <= self.add_masters <= 10:
            raise ChaosError("--add-masters must be between 1 and 10")
        if self.slots is not None and not 1 <= self.slots <= 16384:
            raise ChaosError("--slots must be between 1 and 16384")


@action(reads=["cluster"], writes=["added", "replicas_per_master"])
def add_nodes(ctx: ScaleCtx) -> None:
    c = ctx.config
    replicas = c.replicas_per_master if c.add_replicas_per_master is None else c.add_replicas_per_master
    ctx.state.replicas_per_master = replicas
    added = ctx.state.added = ctx.state.cluster.add_nodes(c.add_masters, replicas, say=ctx.say)
    for stage, at in added["stages"].items():
        ctx.run.nemesis_op("ok", f"scale-out-{stage.replace('_', '-')}", ",".join(added["masters"] + added["replicas"]))
        step_event(ctx, f"nodes_{stage}", ctx.elapsed(at), nodes=added["masters"] + added["replicas"])
    ctx.say(f"joined {', '.join(added['masters'])} as master(s)"
            + (f" and {', '.join(added['replicas'])} as replica(s), links up" if added["replicas"] else ""))


@action(reads=["cluster", "added"], writes=MIGRATION_WRITES, injects=["kill"])
def move_slots(ctx: ScaleCtx) -> None:
    cluster, c = ctx.state.cluster, ctx.config
    new_ids = [ctx.state.added["ids"][n] for n in ctx.state.added["masters"]]
    # the masters that own slots, and the new ones (a new replica may still look like a master)
    owners = {m: slots for m, slots in owners_by_master(masters_view(cluster)).items() if slots or m in new_ids}
    ctx.state.rebalance = c.slots is None
    moves = plan_rebalance(owners) if c.slots is None else plan_rebalance(owners, c.slots, new_ids)
    ids = addresses(cluster)
    ctx.say(f"moving {len(moves)} slots to {', '.join(ids[i] for i in new_ids)}"
            + (" (rebalance)" if c.slots is None else ""))
    run_reshard(ctx, moves, "scale-out")


def killed_at(ctx: ScaleCtx) -> float:
    return ctx.ledger["kill"].injected_t


@action(reads=["probe", "killed_first_slot"])
def source_replaced(ctx: ScaleCtx) -> str | None:
    """Wait condition after --kill-during-migration source: another node owns the source's first
    slot (its replica took over), in a probe sample taken after the kill."""
    fault = ctx.outcome.fault or {}
    first = ctx.state.killed_first_slot
    if first is None:
        return None
    for sample in ctx.state.probe.latest.values():
        owner = (sample.get("owners") or {}).get(str(first))
        if sample["time"] > killed_at(ctx) and owner not in (None, fault.get("target")):
            return owner
    return None


@action(writes=["killed_first_slot"])
def remember_victim(ctx: ScaleCtx) -> None:
    """The first slot the killed master owned (the probes watch it)."""
    fault = ctx.outcome.fault or {}
    if fault.get("target_role") == "source":
        row = next((r for r in ctx.outcome.topology["before"] if r["address"] == fault["target"]), None)
        ctx.state.killed_first_slot = parse_slot_ranges(row["slots"])[0][0] if row and row["slots"] else None


def say_replaced(ctx: ScaleCtx, owner: str | None) -> None:
    if owner:
        ctx.say(f"{owner} took over the killed source's slots after {ctx.elapsed() - killed_at(ctx):.2f} s")
    else:
        ctx.say("no node took over the killed source's slots in time")


@action(reads=["killed_first_slot"])
def killed_source(ctx: ScaleCtx) -> bool:
    return "kill" in ctx.ledger and ctx.state.killed_first_slot is not None


PLAN_STEPS = [
    Do(provision_cluster),
    Do(choose_method),
    Do(preload),
    Do(start_probe_and_load),
    SleepUntil(lambda c: c.state.fault_at, reads=["fault_at"], name="warm-up"),
    Do(errorstats_before),
    Phase("join"),
    Do(add_nodes),
    Phase("migration"),
    Do(move_slots),
    Do(remember_victim),
    WaitUntil("replaced", source_replaced, lambda c: max(30.0, c.state.cluster.config.node_timeout_ms / 100),
              say_replaced, when=killed_source),
    Heal("kill"),
    *after_steps(),
]

PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, KNOWN, HEADLINE, state=ScaleState, context_of=ScaleContext.of)


command = scenario_command(PLAN, ScaleOutConfig, help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up, preloads --preload-keys keys spread over
every slot, drives load, then starts --add-masters new masters with their replicas, joins them,
attaches the replicas, and moves slots to the new masters (CLUSTER SETSLOT IMPORTING/MIGRATING,
GETKEYSINSLOT + MIGRATE batches, SETSLOT NODE) with live progress: all it takes to even the
cluster out (the default), or --slots N. Keeps the load going --after seconds, then checks every
slot has one owner all nodes agree on, no slot is left open, no key sits on a node that does not
own its slot, replicas are linked, cluster_state is ok everywhere, slots are even (within 2 %),
and no acknowledged write was lost. An interrupted reshard leaves no slot open: it is finished
the way `redis-cli --cluster fix` would, and the run reports it.

\b
Examples:
  chaos run scale-out
  chaos run scale-out --preload-keys 600000 --slots 1000 --rate 5000
  chaos run scale-out --add-masters 2 --replicas-per-master 0 --after 10
  chaos run scale-out --backend docker --server valkey:9.1 --method atomic
  chaos run scale-out --backend docker --server valkey:9.1 --kill-during-migration source

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""", exclude=SCALE_EXCLUDED)
