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

from chaos.checkers.compose import Check
from chaos.engine import action
from chaos.engine.command import scenario_command
from chaos.errors import ChaosError
from chaos.faults import Partition
from chaos.measure_context import RedisFailoverContext
from chaos.options import option
from chaos.steps.redis_cluster import RedisRunConfig, choose_node, require_own_addresses
from chaos.steps.redis_failover import (
    FailoverCtx,
    chooser,
    failover_plan,
    hold_seconds,
    record_fault,
    set_victim,
)
from chaos.steps.redis_failover_measure import FAILOVER_CHECKS, REDIS_CHECKS, REDIS_KNOWN

NAME = "partition"
SUMMARY = "Cut a Redis Cluster node off from the others (clients still reach it), then heal: minority writes"
HEADLINE = ["minority_acknowledged_writes", "minority_lost_writes", "minority_write_window_seconds",
            "minority_cluster_fail_seconds_from_log", "failover_seconds", "rejoin_seconds", "lost_writes"]
KNOWN = REDIS_KNOWN | {"minority_acknowledged_writes", "minority_lost_writes", "minority_write_window_seconds",
                       "minority_cluster_fail_seconds_from_log", "partition_seconds"}


@dataclass
class PartitionConfig(RedisRunConfig):
    isolate: str = option("master", "The node to cut off: a name (redis-2) or HOST:PORT, or 'master' / 'replica' "
                          "for a seeded random one.")
    heal_after: float | None = option(None, "Seconds the cut lasts [default: 2 × node timeout + 2 s].")

    def validate(self) -> None:
        super().validate()
        if self.heal_after is not None and self.heal_after <= 0:
            raise ChaosError("--heal-after must be positive")


def heal_after(ctx: FailoverCtx) -> float:
    return hold_seconds(ctx, ctx.config.heal_after)


@chooser
def choose_isolated(ctx: FailoverCtx) -> None:
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
        ctx.state.rejoin_master = next(
            r["address"] for r in ctx.outcome.topology["before"] if r["name"] == victim["follows"])


@action(reads=["victim", "cluster"])
def cut(ctx: FailoverCtx) -> Partition:
    cluster, victim = ctx.state.cluster, ctx.state.victim
    others = [s.host for s in cluster.specs if s.name != victim["name"]]
    return Partition(ctx.state_dir, [cluster.spec(victim["name"]).host], others, both_ways=True,
                     label=f"{victim['name']} ({victim['address']}, {victim['role']}) ↔ the other {len(others)} nodes")


def after_cut(ctx: FailoverCtx) -> None:
    record_fault(ctx, "partition", direction="both", heal_after=heal_after(ctx),
                 isolated_from=[s.name for s in ctx.state.cluster.specs if s.name != ctx.state.victim["name"]])


def is_master_isolated(ctx: FailoverCtx) -> bool:
    return ctx.state.victim["role"] == "master"


def minority_part(ctx: RedisFailoverContext, run_dir: Path, samples: Any) -> list[tuple[str, Any]]:
    """Writes the isolated node acknowledged during the cut, how many were lost, how long it
    kept acknowledging, and when its own log says it saw the cluster fail."""
    def part(m: dict[str, Any]) -> dict[str, Any]:
        cut_t, heal_t = ctx.fault_t, ctx.heal_t
        if heal_t is None:
            raise ValueError("the partition was never healed")
        acked = m["_victim_acked"].between(cut_t, heal_t)
        lost = m["_lost_keys"]  # missing when the history part failed: this part is then unknown too
        with open(run_dir / "minority-writes.txt", "w") as out:
            for t, key in acked:
                out.write(f"{t - cut_t:.6f} {key} {'lost' if key in lost else 'kept'}\n")
        fail_logged = next((e["time"] for e in samples if e.get("source") == "log" and e["node"] == ctx.victim
                            and e["event"] == "cluster_state" and e.get("detail") == "fail"
                            and cut_t <= e["time"] <= heal_t), None)
        return {
            "partition_seconds": round(heal_t - cut_t, 6),
            "minority_acknowledged_writes": len(acked),
            "minority_lost_writes": sum(1 for _, key in acked if key in lost),
            "minority_write_window_seconds": round(max(t for t, _ in acked) - cut_t, 6) if acked else None,
            "minority_cluster_fail_seconds_from_log": round(fail_logged - cut_t, 6) if fail_logged else None,
        }
    return [("minority", part)]


def checks(ctx: RedisFailoverContext) -> list[Check]:
    if ctx.victim_role == "master":
        return REDIS_CHECKS + FAILOVER_CHECKS
    return REDIS_CHECKS + [Check("replica_relinked", "rejoin_seconds", lambda v: v is not None)]


PLAN = failover_plan(
    NAME, SUMMARY, HEADLINE, known=KNOWN, choose=choose_isolated,
    key="partition", make=cut, then=after_cut,
    promote_timeout=heal_after, hold=heal_after, expects_failover=is_master_isolated,
    extra=minority_part, checks=checks,
)


command = scenario_command(PLAN, PartitionConfig, help=f"""{SUMMARY}.

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
""", exclude=("target", "failover_timeout"))
