"""master-kill: SIGKILL a Redis Cluster master under load and measure the failover.

Steady state → load + probes → warm-up → (optionally cut the victim→replica stream) → kill a
master → wait for a replica to own its slots → restart the old master → wait until it is a
replica of the promoted node → cool-down → final read → compare masters with replicas → checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaos.engine import Heal, Inject, SleepUntil, action
from chaos.engine.command import scenario_command
from chaos.errors import ChaosError
from chaos.faults import Kill, Partition
from chaos.options import option
from chaos.steps.redis_cluster import RedisRunConfig, choose_node, master_of_key, require_own_addresses
from chaos.steps.redis_failover import FailoverCtx, chooser, failover_plan, fault_detail, record_fault, set_victim

NAME = "master-kill"
SUMMARY = "SIGKILL a Redis Cluster master under load: failover, write outage, rejoin, lost writes"
HEADLINE = ["failover_seconds", "failover_seconds_from_log", "cluster_down_seconds", "write_unavailable_seconds",
            "rejoin_seconds", "lost_writes", "unacked_applied_writes", "lost_increments"]


@dataclass
class MasterKillConfig(RedisRunConfig):
    target_key: str | None = option(None, "Kill the master that owns this key's slot.")
    stale_replica: float | None = option(None, "Drop the victim→replica replication stream (iptables) SECONDS before "
                                         "the kill until the promotion: the replica takes over stale and acknowledged "
                                         "writes are lost.", metavar="SECONDS")

    def validate(self) -> None:
        super().validate()
        if self.target and self.target_key:
            raise ChaosError("give either --target or --target-key, not both")
        if self.stale_replica is not None and self.stale_replica <= 0:
            raise ChaosError("--stale-replica must be a positive number of seconds")


Ctx = FailoverCtx  # with a MasterKillConfig


@chooser
def choose_victim(ctx: Ctx) -> None:
    c = ctx.config
    set_victim(ctx, master_of_key(ctx, c.target_key) if c.target_key else choose_node(ctx, c.target, "master"))


@action(reads=["victim", "replicas", "cluster"])
def stale_cut(ctx: Ctx) -> Partition | None:
    """--stale-replica: a one-way partition of the victim's replication stream to its replicas."""
    if not ctx.config.stale_replica:
        return None
    victim, cluster, replicas = ctx.state.victim, ctx.state.cluster, ctx.state.replicas
    require_own_addresses(ctx, [victim["name"], *replicas], "--stale-replica")
    spec = cluster.spec(victim["name"])
    return Partition(ctx.state_dir, [spec.host], [cluster.spec(r).host for r in replicas], both_ways=False,
                     src_port=spec.port, name="drop-replication", heal_name="heal-replication")


@action(reads=["victim", "cluster"])
def kill_victim(ctx: Ctx) -> Kill:
    cluster, victim = ctx.state.cluster, ctx.state.victim
    return Kill(cluster.backend, victim["name"], after_start=cluster.save, detail=fault_detail(victim))


PLAN = failover_plan(
    NAME, SUMMARY, HEADLINE, choose=choose_victim,
    before_fault=[SleepUntil(lambda c: c.state.fault_at - (c.config.stale_replica or 0), reads=["fault_at"],
                             name="warm-up"),
                  Inject("stale", stale_cut)],
    key="kill", make=kill_victim,
    then=lambda c: record_fault(c, "kill", signal="SIGKILL"),
    promote_timeout=lambda c: c.config.failover_wait(c.state.cluster.config.node_timeout_ms),
    after_promotion=[Heal("stale")],
)


command = scenario_command(PLAN, MasterKillConfig, help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up (`chaos up redis-cluster`), drives
load through it, kills a master (seeded random choice, or --target / --target-key), waits for
the failover, restarts the old master and waits until it is a replica, then reads back every
key and compares every master with its replicas. Built-in checks: failover happened, old master
rejoined as a replica, no acknowledged write or increment lost, replicas consistent. Writes
runs/master-kill-<UTC>/ (result.json, history.jsonl.zst, timeline.jsonl.zst, metrics.prom, report.md, nodes/).

\b
Examples:
  chaos run master-kill
  chaos run master-kill --node-timeout-ms 1000 --duration 20 --slo 'failover_seconds<=5'
  chaos run master-kill --target redis-2 --metrics-port 9464 --keep
  chaos run master-kill --stale-replica 2       # provoke lost writes (the run fails)
  chaos run master-kill --stale-replica 2 --slo 'lost_writes<=5000'   # accept a loss budget

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
