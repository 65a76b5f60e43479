"""Steps MySQL/MariaDB replication plans share: provision (or use) the pair, heartbeat, replica
probe and load; stop the load and wait for the replica to settle."""

from __future__ import annotations

from chaos.backends import make_backend
from chaos.engine import RunContext, copy_node_files
from chaos.errors import ChaosError
from chaos.observe.mysql_probe import HeartbeatWriter, ReplicaProbe
from chaos.runner import start_load
from chaos.topology.mysql_replication import (
    ADMIN_USER,
    MysqlReplication,
    MysqlReplicationConfig,
    source_position,
    wait_replica_reached,
)
from loadgen.mysql_workload import SCHEMA


def provision_pair(ctx: RunContext) -> None:
    """The pair that is up, or a new one (torn down at the end unless --keep); then the steady
    state: both servers up, IO and SQL threads running; the workload's schema replicated."""
    config, state = ctx.config, ctx.state
    if state.topology("mysql-replication") is None:
        topo = MysqlReplication(state, MysqlReplicationConfig(base_port=config.base_port),  # type: ignore[attr-defined]
                                make_backend(config.backend, state.path))
        ctx.say("starting a MariaDB source and replica")
        ctx.say(f"replication up in {topo.up(say=ctx.say):.2f} s")
        ctx.cleanup(ctx.teardown, topo, "the source and replica")
    else:
        topo = MysqlReplication.attach(state)
        ctx.say(f"using the mysql-replication already up in {state.path} ({topo.backend.name} backend)")
        config.backend = topo.backend.name  # the run reports where its servers really ran
    ctx.vars["topo"] = topo
    ctx.cleanup(copy_node_files, topo.specs, ctx.run, ("my.cnf",))
    problems = topo.replication_problems()
    if problems:
        raise ChaosError(f"steady state not reached: {'; '.join(problems)}; fix it or `chaos down` and run again")
    ctx.outcome.topology["before"] = topo.status()
    admin = topo.admin(topo.source)
    try:
        ctx.outcome.topology["server_version"] = topo.server_version(admin)
        with admin.cursor() as cur:
            for statement in SCHEMA:
                cur.execute(statement)
    finally:
        admin.close()
    if not wait_replica_reached(topo, source_position(topo), 30):
        raise ChaosError("the replica did not receive the workload's table within 30 s")


def start_heartbeat_probe_and_load(ctx: RunContext) -> None:
    topo, config, run = ctx.vars["topo"], ctx.config, ctx.run
    source, replica = topo.source, topo.replica
    heartbeat = HeartbeatWriter(lambda: topo.admin(source, 2))
    heartbeat.start()
    ctx.vars["heartbeat"] = heartbeat
    ctx.cleanup(heartbeat.stop)
    probe = ReplicaProbe(replica.name, replica.address, lambda: topo.admin(replica, 1), run.dir / "timeline.jsonl",
                         run.t0, run.wall0, on_sample=lambda s: run.bus.fire("mysql_sample", **s))
    probe.start()
    ctx.vars["probe"] = probe
    ctx.cleanup(probe.stop)
    run.phase("warmup")
    ctx.load = start_load(run, "mysql", config.users, config.duration + 600, seed=ctx.seed, state=ctx.state,
                          **config.load_options(),
                          env={"CHAOS_MYSQL_PASSWORD": topo.secrets["admin"]},
                          mysql={"host": source.host, "port": source.port, "user": ADMIN_USER})
    ctx.cleanup(ctx.load.stop)
    pace = f"{config.rate:g} statements/s" if config.rate else "unpaced"
    ctx.vars["fault_at"] = ctx.elapsed() + config.warmup
    ctx.say(f"load: {config.users} users, {pace}, into {source.address}; warm-up {config.warmup:g} s")


def cooldown_and_settle(ctx: RunContext) -> None:
    """Cool-down, stop the load and the heartbeat, wait until the replica applied everything."""
    topo = ctx.vars["topo"]
    ctx.run.phase("cooldown")
    ctx.sleep_until(max(ctx.elapsed() + 2.0, ctx.config.duration))
    ctx.load.stop()
    heartbeat, probe = ctx.vars["heartbeat"], ctx.vars["probe"]
    heartbeat.stop()
    final_target = source_position(topo)
    settled = wait_replica_reached(topo, final_target, ctx.config.catchup_timeout)  # type: ignore[attr-defined]
    probe.stop()
    ctx.say(f"load stopped after {ctx.elapsed():.1f} s; replica {'has' if settled else 'has NOT'} "
            f"applied everything ({final_target})")
    for what, thread in (("probe", probe), ("heartbeat", heartbeat)):
        if thread.errors:
            ctx.say(f"note: the {what} hit {thread.errors} error(s); last: {thread.last_error}")
    ctx.outcome.topology["after"] = topo.status()
