"""scale-in: shrink a Redis Cluster under load: drain the slots of one master into the others,
then take it and its replicas out (CLUSTER RESET HARD, CLUSTER FORGET on every remaining node),
then check the end state and that no acknowledged write was lost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chaos.capacity import parse_bytes
from chaos.engine import Do, Phase, Plan, SleepUntil, action
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
    errorstats_snapshot,
    preload,
    step_event,
)
from chaos.steps.scale_end_state import addresses, masters_view
from chaos.steps.scale_measure import measure
from chaos.steps.scale_migration import MIGRATION_WRITES, run_reshard
from chaos.topology.reshard_plan import owners_by_master, plan_drain

NAME = "scale-in"
SUMMARY = "Drain a Redis Cluster master's slots into the others under load, then remove it and its replicas"
RESERVE = 0.25  # of a node's memory kept free for fork copy-on-write and buffers (FACTS.md)
@dataclass
class ScaleInConfig(ScaleConfig):
    masters: int = 4
    remove: str | None = option(None, "The master to remove: a name or HOST:PORT [default: the one with the fewest "
                                "keys].")
    max_memory: str | None = option(None, "Memory budget of each master that stays, e.g. 2gb [default: the nodes' "
                                    "maxmemory, or 75 % of this machine's RAM shared by the nodes that stay].")

    def validate(self) -> None:
        super().validate()
        if self.max_memory is not None:
            parse_bytes(self.max_memory)


def machine_memory() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


@action(reads=["cluster"], writes=["leaving", "leaving_replicas", "memory"])
def choose_leaving(ctx: ScaleCtx) -> None:
    """The master to remove (default: fewest keys) and its replicas; refuse (exit 2) when the
    masters that stay would hold more than their memory budget."""
    cluster = ctx.state.cluster
    rows = [r for r in cluster.status() if r["process"] == "running"]
    masters = [r for r in rows if r["role"] == "master" and r["slots"]]
    if len(masters) < 2:
        raise ChaosError("scale-in needs at least 2 masters with slots; start one with --masters 4")
    if ctx.config.remove:
        leaving = next((r for r in masters if ctx.config.remove in (r["name"], r["address"])), None)
        if leaving is None:
            raise ChaosError(f"--remove {ctx.config.remove}: not a master with slots; masters are "
                             + ", ".join(f"{r['name']} ({r['address']})" for r in masters))
    else:
        leaving = min(masters, key=lambda r: (r["keys"] or 0, r["name"]))
    replicas = [r["name"] for r in rows if r["follows"] == leaving["name"]]
    staying = [r for r in masters if r is not leaving]
    memory = {r["name"]: int(cluster.client(cluster.spec(r["name"])).info("memory")["used_memory"]) for r in masters}
    nodes_after = len(cluster.specs) - 1 - len(replicas)
    if ctx.config.max_memory:
        budget, why = parse_bytes(ctx.config.max_memory), "--max-memory"
    else:
        maxmemory = int(cluster.client(cluster.spec(staying[0]["name"])).config_get("maxmemory")["maxmemory"])
        if maxmemory:
            budget, why = maxmemory, "the nodes' maxmemory"
        else:
            budget = int(machine_memory() * (1 - RESERVE) / max(1, nodes_after))
            why = (f"maxmemory is unset: assumed {100 * (1 - RESERVE):.0f} % of this machine's RAM shared by the "
                   f"{nodes_after} nodes that stay")
    share = memory[leaving["name"]] / len(staying)
    worst = max(staying, key=lambda r: memory[r["name"]])
    after = memory[worst["name"]] + share
    ctx.state.memory = {"budget_bytes": budget, "budget_from": why, "used_bytes": memory,
                                     "worst_after_bytes": int(after)}
    if after > budget:
        raise ChaosError(f"refusing to scale in: {worst['name']} would hold {after / 1e6:.1f} MB, over its budget of "
                         f"{budget / 1e6:.1f} MB ({why}) by {(after - budget) / 1e6:.1f} MB; give a larger "
                         "--max-memory if the nodes have it")
    ctx.state.leaving = leaving
    ctx.state.leaving_replicas = replicas
    ctx.say(f"removing {leaving['name']} ({leaving['address']}, {leaving['keys']} keys, slots {leaving['slots']})"
            + (f" and its replica(s) {', '.join(replicas)}" if replicas else "")
            + f"; the fullest master after it: {after / 1e6:.1f} MB of a {budget / 1e6:.0f} MB budget")


@action(reads=["cluster", "leaving"], writes=["leaving_id", *MIGRATION_WRITES])
def drain(ctx: ScaleCtx) -> None:
    cluster = ctx.state.cluster
    ids = {v: k for k, v in addresses(cluster).items()}
    leaving_id = ids[ctx.state.leaving["address"]]
    ctx.state.leaving_id = leaving_id
    moves = plan_drain(owners_by_master(masters_view(cluster)), leaving_id)
    ctx.state.rebalance = True
    ctx.say(f"moving {len(moves)} slots from {ctx.state.leaving['address']} to the other masters")
    run_reshard(ctx, moves, "scale-in")


@action(reads=["cluster", "leaving", "leaving_replicas"], writes=["removed_ids", "replicas_per_master"])
def remove(ctx: ScaleCtx) -> None:
    cluster = ctx.state.cluster
    names = [ctx.state.leaving["name"], *ctx.state.leaving_replicas]
    errorstats_snapshot(ctx)  # the leaving nodes' redirect counts, before they go
    ctx.run.nemesis_op("invoke", "remove-nodes", ",".join(names))
    step_event(ctx, "nodes_removing", nodes=names)
    removed = cluster.remove_nodes(names, masters_leaving=1, say=ctx.say)
    ctx.run.nemesis_op("ok", "remove-nodes", ",".join(names))
    step_event(ctx, "nodes_removed", nodes=names)
    ctx.state.removed_ids = list(removed["ids"].values())
    ctx.state.replicas_per_master = ctx.config.replicas_per_master if ctx.state.leaving_replicas else None


PLAN_STEPS = [
    Do(provision_cluster),
    Do(choose_method),
    Do(preload),
    Do(choose_leaving),
    Do(start_probe_and_load),
    SleepUntil(lambda c: c.state.fault_at, reads=["fault_at"], name="warm-up"),
    Do(errorstats_before),
    Phase("migration"),
    Do(drain),
    Phase("remove"),
    Do(remove),
    *after_steps(),
]

PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, KNOWN, HEADLINE, state=ScaleState, context_of=ScaleContext.of)


command = scenario_command(PLAN, ScaleInConfig, help=f"""{SUMMARY}.

Stands up a 4-master, 4-replica cluster unless one is up, preloads keys over every slot, drives
load, then moves every slot of one master (--remove, default: the one with the fewest keys) to
the others, evenly, with live progress, and removes it and its replicas: CLUSTER RESET HARD on
them, CLUSTER FORGET of their ids on every remaining node at once (the ban lasts 60 s and does
not spread by gossip), stop. Before anything moves, it refuses (exit 2) when a master that stays
would hold more than its memory budget (--max-memory, or the nodes' maxmemory, or when that is
unset 75 % of this machine's RAM shared by the nodes that stay), and says by how much. Checks
as scale-out, plus: no remaining node still knows a removed node.

\b
Examples:
  chaos run scale-in
  chaos run scale-in --remove redis-2 --max-memory 512mb
  chaos up redis-cluster --masters 4 && chaos run scale-out && chaos run scale-in

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""", exclude=(*SCALE_EXCLUDED, "kill_during_migration"))
