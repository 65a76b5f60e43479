"""partition: cut one node off from every other node (cluster bus and replication, both
directions, iptables) while clients can still reach it; hold the cut past the node timeout,
then heal.

An isolated master keeps acknowledging writes until it notices it is in the minority (about the
node timeout, Redis documents); meanwhile the majority promotes its replica. When the cut heals
the old master becomes a replica of the new one and drops what it acknowledged alone: the loss
window Redis Cluster users ask about most, shown as numbers and as the keys themselves
(``minority-writes.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from chaos.checkers.compose import Check
from chaos.engine import Do, Heal, Inject, Phase, Plan, ReadFinal, RunContext, SleepUntil, WaitUntil, run_plan
from chaos.errors import ChaosError
from chaos.faults import Partition
from chaos.options import attach_options, redis_cluster_options, run_options
from chaos.state import StateDir
from chaos.steps.redis_cluster import (
    FAILOVER_CHECKS,
    REDIS_CHECKS,
    REDIS_KNOWN,
    RedisRunConfig,
    choose_node,
    cooldown_and_stop_load,
    measure_cluster,
    measure_redis,
    promoted,
    provision_cluster,
    record_fault,
    rejoined,
    require_own_addresses,
    say_promoted,
    say_rejoined,
    set_victim,
    start_probe_and_load,
)

NAME = "partition"
SUMMARY = "Cut a Redis Cluster node off from the others (clients still reach it), then heal: minority writes"
HEADLINE = ["minority_acknowledged_writes", "minority_lost_writes", "minority_write_window_seconds",
            "minority_cluster_fail_seconds_from_log", "failover_seconds", "rejoin_seconds", "lost_writes"]
KNOWN = REDIS_KNOWN | {"minority_acknowledged_writes", "minority_lost_writes", "minority_write_window_seconds",
                       "minority_cluster_fail_seconds_from_log", "partition_seconds"}


@dataclass
class PartitionConfig(RedisRunConfig):
    isolate: str = "master"  # a node name or address, or "master" / "replica" (seeded random choice)
    heal_after: float | None = None  # default: 2 × node timeout + 2 s

    def validate(self) -> None:
        super().validate()
        if self.heal_after is not None and self.heal_after <= 0:
            raise ChaosError("--heal-after must be positive")


def heal_after(ctx: RunContext) -> float:
    return ctx.config.heal_after or 2 * ctx.vars["cluster"].config.node_timeout_ms / 1000.0 + 2.0


def choose_isolated(ctx: RunContext) -> None:
    isolate = ctx.config.isolate
    if isolate in ("master", "replica"):
        victim = choose_node(ctx, None, isolate)
    else:
        victim = choose_node(ctx, isolate, role="any")
        if victim["role"] not in ("master", "replica"):
            raise ChaosError(f"--isolate {isolate}: the node does not answer; see `chaos status`")
    set_victim(ctx, victim, needs_restart=False)
    require_own_addresses(ctx, [r["name"] for r in ctx.outcome.topology["before"]], "partition")
    if victim["role"] == "replica":  # no failover expected: it should follow its master again
        ctx.outcome.context["rejoin_master"] = next(
            r["address"] for r in ctx.outcome.topology["before"] if r["name"] == victim["follows"])


def cut(ctx: RunContext) -> Partition:
    cluster, victim = ctx.vars["cluster"], ctx.vars["victim"]
    others = [s.host for s in cluster.specs if s.name != victim["name"]]
    return Partition(ctx.state, [cluster.spec(victim["name"]).host], others, both_ways=True,
                     label=f"{victim['name']} ({victim['address']}, {victim['role']}) ↔ the other {len(others)} nodes")


def after_cut(ctx: RunContext) -> None:
    record_fault(ctx, "partition", "partition", direction="both", heal_after=heal_after(ctx),
                 isolated_from=[s.name for s in ctx.vars["cluster"].specs if s.name != ctx.vars["victim"]["name"]])


def after_heal(ctx: RunContext) -> None:
    ctx.vars["heal_t"] = ctx.vars["partition_healed_t"]


def is_master_isolated(ctx: RunContext) -> bool:
    return ctx.vars["victim"]["role"] == "master"


PLAN_STEPS = [
    Do(provision_cluster),
    Do(choose_isolated),
    Do(start_probe_and_load),
    SleepUntil(lambda c: c.vars["fault_at"], name="warm-up"),
    Phase("fault"),
    Inject("partition", cut, then=after_cut),
    WaitUntil("promoted", promoted, heal_after, say_promoted, when=is_master_isolated),
    SleepUntil(lambda c: c.vars["fault_t"] + heal_after(c), name="partition"),
    Phase("recovery"),
    Heal("partition"),
    Do(after_heal),
    WaitUntil("rejoined", rejoined, lambda c: c.config.rejoin_timeout, say_rejoined,
              when=lambda c: c.vars.get("promoted") or not is_master_isolated(c)),
    Do(cooldown_and_stop_load),
    Do(measure_cluster),
]


def minority_part(run_dir: Path, ctx: dict[str, Any], samples: list[dict[str, Any]]) -> Any:
    """Writes the isolated node acknowledged during the cut, how many were lost, how long it
    kept acknowledging, and when its own log says it saw the cluster fail."""
    def part(m: dict[str, Any]) -> dict[str, Any]:
        cut_t, heal_t = ctx["fault_t"], ctx["heal_t"]
        acked = m["_victim_acked"].between(cut_t, heal_t)
        lost = m["_lost_keys"]  # missing when the history part failed: this part is then unknown too
        with open(run_dir / "minority-writes.txt", "w") as out:
            for t, key in acked:
                out.write(f"{t - cut_t:.6f} {key} {'lost' if key in lost else 'kept'}\n")
        fail_logged = next((e["time"] for e in samples if e.get("source") == "log" and e["node"] == ctx["victim"]
                            and e["event"] == "cluster_state" and e.get("detail") == "fail"
                            and cut_t <= e["time"] <= heal_t), None)
        return {
            "partition_seconds": round(heal_t - cut_t, 6),
            "minority_acknowledged_writes": len(acked),
            "minority_lost_writes": sum(1 for _, key in acked if key in lost),
            "minority_write_window_seconds": round(max(t for t, _ in acked) - cut_t, 6) if acked else None,
            "minority_cluster_fail_seconds_from_log": round(fail_logged - cut_t, 6) if fail_logged else None,
        }
    return part


def measure(run_dir: Path, ctx: dict[str, Any], read_final: ReadFinal, live: dict[str, Any]) -> tuple[dict, list]:
    m = measure_redis(run_dir, ctx, read_final, live, lambda samples: [("minority", minority_part(run_dir, ctx, samples))])
    if ctx.get("victim_role") == "master":
        checks = REDIS_CHECKS + FAILOVER_CHECKS
    else:
        checks = REDIS_CHECKS + [Check("replica_relinked", "rejoin_seconds", lambda v: v is not None)]
    return m, checks


PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, KNOWN, HEADLINE)


@click.command(NAME, help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up, drives load through it, then drops
every packet between the isolated node and every other node (cluster bus and replication, both
directions; clients on 127.0.0.1 still reach it) for --heal-after seconds, then heals. With a
master isolated: writes it acknowledged during the cut (minority_acknowledged_writes), how many
were lost after its replica took over (minority_lost_writes; the keys in minority-writes.txt),
how long it kept acknowledging (minority_write_window_seconds; Redis documents about the node
timeout), the failover on the majority side, the rejoin and consistency. Lost writes fail the
run, as in every scenario; accept a budget with --slo 'lost_writes<=N' --slo 'lost_increments<=M'.

\b
Examples:
  chaos run partition --node-timeout-ms 1000
  chaos run partition --isolate redis-2 --heal-after 8
  chaos run partition --isolate replica
  chaos run partition --slo 'minority_write_window_seconds<=1.5' --slo 'lost_writes<=100000'

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
@run_options(users=20, rate=None, rate_help="Target ops/s over all users, paced (default: unpaced).", what="a cluster")
@redis_cluster_options(None, failover_timeout=False)
@attach_options()
@click.option("--isolate", default="master", show_default=True,
              help="The node to cut off: a name (redis-2) or HOST:PORT, or 'master' / 'replica' for a seeded "
              "random one.")
@click.option("--heal-after", type=float, default=None,
              help="Seconds the cut lasts [default: 2 × node timeout + 2 s].")
@click.pass_obj
def command(state: StateDir, **options: Any) -> None:
    options["slo"] = list(options["slo"])
    raise SystemExit(run_plan(PLAN, PartitionConfig(**options), state))
