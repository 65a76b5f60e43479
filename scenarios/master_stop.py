"""master-stop: shut a Redis Cluster master down gracefully (SIGTERM / docker stop: it saves and,
on Redis 7 and later, waits up to shutdown-timeout for its replicas to catch up), as a rolling
restart does; its replica is promoted after the node timeout; start it again."""

from chaos.engine import action
from chaos.engine.command import scenario_command
from chaos.faults import Stop
from chaos.steps.redis_cluster import RedisRunConfig, choose_node
from chaos.steps.redis_failover import chooser, failover_plan, fault_detail, record_fault, set_victim

NAME = "master-stop"
SUMMARY = "Stop a Redis Cluster master gracefully under load (a rolling restart): failover, rejoin, lost writes"
HEADLINE = ["failover_seconds", "write_unavailable_seconds", "rejoin_seconds", "lost_writes", "lost_increments"]


@chooser
def choose_victim(ctx):
    set_victim(ctx, choose_node(ctx, ctx.config.target, "master"))


@action(reads=["victim", "cluster"])
def stop_victim(ctx):
    cluster, victim = ctx.state.cluster, ctx.state.victim
    return Stop(cluster.backend, victim["name"], after_start=cluster.save, detail=fault_detail(victim))


PLAN = failover_plan(NAME, SUMMARY, HEADLINE, choose=choose_victim, key="stop", make=stop_victim,
                     then=lambda c: record_fault(c, "stop", signal="SIGTERM"),
                     promote_timeout=lambda c: c.config.failover_wait(c.state.cluster.config.node_timeout_ms))

command = scenario_command(PLAN, RedisRunConfig, help=f"""{SUMMARY}.

\b
Examples:
  chaos run master-stop --node-timeout-ms 1000
  chaos run master-stop --target redis-2 --slo 'write_unavailable_seconds<=5'
""")
