"""master-kill: SIGKILL a Redis Cluster master under load and measure the failover.

Steady state → load + probes → warm-up → (optionally cut the victim→replica stream) → kill a
master → wait for a replica to own its slots → restart the old master → wait until it is a
replica of the promoted node → cool-down → final read → compare masters with replicas → checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from chaos.engine import Do, Heal, Inject, Phase, Plan, ReadFinal, RunContext, SleepUntil, WaitUntil, run_plan
from chaos.errors import ChaosError
from chaos.faults import Kill, Partition
from chaos.options import attach_options, redis_cluster_options, run_options
from chaos.state import StateDir
from chaos.steps.redis_cluster import (
    FAILOVER_CHECKS,
    REDIS_CHECKS,
    REDIS_KNOWN,
    RedisRunConfig,
    choose_node,
    cooldown_and_stop_load,
    fault_detail,
    master_of_key,
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

NAME = "master-kill"
SUMMARY = "SIGKILL a Redis Cluster master under load: failover, write outage, rejoin, lost writes"
HEADLINE = ["failover_seconds", "failover_seconds_from_log", "cluster_down_seconds", "write_unavailable_seconds",
            "rejoin_seconds", "lost_writes", "unacked_applied_writes", "lost_increments"]


@dataclass
class MasterKillConfig(RedisRunConfig):
    target_key: str | None = None
    stale_replica: float | None = None  # cut the victim→replica stream this many s before the kill

    def validate(self) -> None:
        super().validate()
        if self.target and self.target_key:
            raise ChaosError("give either --target or --target-key, not both")
        if self.stale_replica is not None and self.stale_replica <= 0:
            raise ChaosError("--stale-replica must be a positive number of seconds")


def choose_victim(ctx: RunContext) -> None:
    c = ctx.config
    set_victim(ctx, master_of_key(ctx, c.target_key) if c.target_key else choose_node(ctx, c.target, "master"))


def stale_cut(ctx: RunContext) -> Partition | None:
    """--stale-replica: a one-way partition of the victim's replication stream to its replicas."""
    if not ctx.config.stale_replica:
        return None
    victim, cluster = ctx.vars["victim"], ctx.vars["cluster"]
    require_own_addresses(ctx, [victim["name"], *ctx.vars["replicas"]], "--stale-replica")
    spec = cluster.spec(victim["name"])
    return Partition(ctx.state, [spec.host], [cluster.spec(r).host for r in ctx.vars["replicas"]], both_ways=False,
                     src_port=spec.port, name="drop-replication", heal_name="heal-replication")


def kill_victim(ctx: RunContext) -> Kill:
    cluster, victim = ctx.vars["cluster"], ctx.vars["victim"]
    return Kill(cluster.backend, victim["name"], after_start=cluster.save, detail=fault_detail(victim))


def after_kill(ctx: RunContext) -> None:
    record_fault(ctx, "kill", "kill", signal="SIGKILL")


def after_restart(ctx: RunContext) -> None:
    ctx.vars["heal_t"] = ctx.vars["kill_healed_t"]


PLAN_STEPS = [
    Do(provision_cluster),
    Do(choose_victim),
    Do(start_probe_and_load),
    SleepUntil(lambda c: c.vars["fault_at"] - (c.config.stale_replica or 0), name="warm-up"),
    Inject("stale", stale_cut),
    SleepUntil(lambda c: c.vars["fault_at"], name="warm-up"),
    Phase("fault"),
    Inject("kill", kill_victim, then=after_kill),
    WaitUntil("promoted", promoted, lambda c: c.config.failover_wait(c.vars["cluster"].config.node_timeout_ms),
              say_promoted),
    Heal("stale"),
    Phase("recovery"),
    Heal("kill"),
    Do(after_restart),
    WaitUntil("rejoined", rejoined, lambda c: c.config.rejoin_timeout, say_rejoined, when=lambda c: c.vars["promoted"]),
    Do(cooldown_and_stop_load),
    Do(measure_cluster),
]


def measure(run_dir: Path, ctx: dict[str, Any], read_final: ReadFinal, live: dict[str, Any]) -> tuple[dict, list]:
    """Measurements and checks from the run directory's files, the final read, and what could
    only be measured live (``consistency``)."""
    ctx = {**ctx, "fault_t": ctx.get("fault_t", ctx.get("kill_t")), "heal_t": ctx.get("heal_t", ctx.get("restart_t"))}
    m = measure_redis(run_dir, ctx, read_final, live)
    return m, REDIS_CHECKS + FAILOVER_CHECKS


PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, REDIS_KNOWN, HEADLINE)


@click.command(NAME, help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up (`chaos up redis-cluster`), drives
load through it, kills a master (seeded random choice, or --target / --target-key), waits for
the failover, restarts the old master and waits until it is a replica, then reads back every
key and compares every master with its replicas. Built-in checks: failover happened, old master
rejoined as a replica, no acknowledged write or increment lost, replicas consistent. Writes
runs/master-kill-<UTC>/ (result.json, history.jsonl.zst, timeline.jsonl, metrics.prom, report.md, nodes/).

\b
Examples:
  chaos run master-kill
  chaos run master-kill --node-timeout-ms 1000 --duration 20 --slo 'failover_seconds<=5'
  chaos run master-kill --target redis-2 --metrics-port 9464 --keep
  chaos run master-kill --stale-replica 2       # provoke lost writes (the run fails)
  chaos run master-kill --stale-replica 2 --slo 'lost_writes<=5000'   # accept a loss budget

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
@run_options(users=20, rate=None, rate_help="Target ops/s over all users, paced (default: unpaced).", what="a cluster")
@redis_cluster_options("Default: a seeded random master.")
@attach_options()
@click.option("--target-key", default=None, help="Kill the master that owns this key's slot.")
@click.option("--stale-replica", type=float, default=None, metavar="SECONDS",
              help="Drop the victim→replica replication stream (iptables) SECONDS before the kill until the "
              "promotion: the replica takes over stale and acknowledged writes are lost.")
@click.pass_obj
def command(state: StateDir, **options: Any) -> None:
    options["slo"] = list(options["slo"])
    raise SystemExit(run_plan(PLAN, MasterKillConfig(**options), state))
