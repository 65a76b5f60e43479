"""The run state and the steps MySQL/MariaDB replication plans share: provision (or use) the
pair, heartbeat, replica probe and load; stop the load and wait for the replica to settle.

The source and the replica are roles of the topology (``topo.source``, ``topo.replica``), not
positions: the heartbeat writes to whichever node is the source when it connects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.backends import make_backend
from chaos.engine import FaultRecord, RunContext, RunState, Slot, action, copy_node_files
from chaos.errors import ChaosError
from chaos.observe.mysql_probe import HeartbeatWriter, ReplicaProbe, new_heartbeat_row
from chaos.runner import start_load
from chaos.steps.client_view import install_clients, start_clients, stop_clients
from chaos.topology.kinds import load_topology
from chaos.topology.mysql_compare import SkippedErrors
from chaos.topology.mysql_replication import (
    MysqlReplication,
    MysqlReplicationConfig,
    replica_progress,
    source_position,
    wait_replica_reached,
)
from loadgen.mysql_workload import schema


class ReplicationState(RunState):
    """The run state of a MySQL/MariaDB replication plan."""

    KIND = "mysql-replication"

    topo = Slot[Any]("the source→replica pair (MysqlReplication, or AttachedMysqlReplication)")
    heartbeat = Slot[HeartbeatWriter]("the heartbeat writer on the source")
    probe = Slot[ReplicaProbe]("the replica's probe (lag, threads, position) into the timeline")
    fault = Slot[FaultRecord]("the ledger record of the fault (its injection and heal times)")
    target_gtid = Slot[str]("the source's position when the replica came back")
    caught_up = Slot[Any]("the replica caught up (or None)")
    skipped = Slot[SkippedErrors]("the count of replication errors the replica skipped during the run")
    clients = Slot[Any]("the client view's library processes (--clients), or None", default=None)


ReplicationCtx = RunContext[ReplicationState, Any]
# what the harness sets in every server's option file (a user's image keeps every other setting)
MYSQL_HARNESS_SETTINGS = ["datadir", "socket", "pid-file", "log-error", "bind-address", "port", "user", "server_id",
                          "log_bin", "binlog_format", "relay_log", "skip-name-resolve", "innodb_buffer_pool_size",
                          "innodb_flush_log_at_trx_commit", "sync_binlog", "max_connections", "log_replica_updates",
                          "read_only"]  # with a ReplicationConfig


@action(writes=["topo", "skipped"])
def provision_pair(ctx: ReplicationCtx) -> None:
    """The pair that is up, the user's own (--source/--replica), or a new one (torn down at the
    end unless --keep); then the steady state: both servers up, IO and SQL threads running; the
    workload's schema replicated."""
    config, state = ctx.config, ctx.state_dir
    install_clients(ctx, "mysql")  # a client that cannot be installed ends the run before anything starts
    existing = False  # a pair `chaos up` started: it must be what the options say
    if config.source:
        topo = attach_pair(ctx)
    elif state.topology("mysql-replication") is None:
        topo = MysqlReplication(state, MysqlReplicationConfig(base_port=config.base_port, version=config.server or "",
                                                              image_ref=config.image or "",
                                                              image_replica_ref=config.image_replica or "",
                                                              replication=config.replication or "gtid",
                                                              replica_skip_errors=config.replica_skip_errors or "",
                                                              tls=config.tls),
                                make_backend(config.backend, state.path))
        ctx.say(f"starting a {'MySQL' if topo.family == 'mysql' else 'MariaDB'} source and replica")
        ctx.say(f"replication up in {topo.up(say=ctx.say):.2f} s")
        ctx.cleanup(ctx.teardown, topo, "the source and replica")
    else:
        topo = load_topology(state, "mysql-replication")
        if topo.attached:
            raise ChaosError(f"{state.path} still records an attached pair from a run that did not finish; run "
                             "`chaos down` (it brings back what that run stopped) and try again")
        ctx.say(f"using the mysql-replication already up in {state.path} ({topo.backend.name} backend)")
        config.backend = topo.backend.name  # the run reports where its servers really ran
        existing = True
        if getattr(config, "stray_write", False):
            raise ChaosError("--stray-write diverges or breaks the replica on purpose, and would leave the pair up in "
                             f"{state.path} so; run `chaos down` first and let the run start its own pair")
        refuse_mismatch(config, topo.config.replication, topo.config.replica_skip_errors,
                        "the pair up in " + str(state.path), "`chaos down` first")
        if config.tls and not topo.config.tls:
            raise ChaosError(f"--tls, but the pair up in {state.path} was started without it; drop --tls or "
                             "`chaos down` first")
        if config.image_replica and config.image_replica != topo.config.image_replica_ref:
            raise ChaosError(f"--image-replica {config.image_replica}, but the pair up in {state.path} was started "
                             f"without it; drop it or `chaos down` first")
        if config.image and config.image != topo.config.image_ref:
            raise ChaosError(f"--image {config.image}, but the pair up in {state.path} runs "
                             f"{topo.config.image or 'local processes'}; drop --image or `chaos down` first")
    ctx.state.topo = topo
    if not topo.attached:
        ctx.cleanup(copy_node_files, topo.specs, ctx.run, ("my.cnf",))
    if not topo.attached:  # an attached pair was checked before anything was recorded (attach_pair)
        problems = topo.replication_problems()
        if problems:
            raise ChaosError(f"steady state not reached: {'; '.join(problems)}; fix it or `chaos down` and run again")
    version = ctx.outcome.topology["server_version"] = topo.server_version_of(topo.source)
    if existing:
        check_server_family(config, version, f"the pair up in {state.path}")
    ctx.outcome.topology["before"] = topo.status()
    if not topo.attached and topo.backend.name == "docker":
        from chaos.image_ref import image_record

        ctx.outcome.topology["image"] = image_record(topo.backend.client, topo.config.image, topo.config.image_info,
                                                     MYSQL_HARNESS_SETTINGS)
        if topo.config.image_replica:
            ctx.outcome.topology["image_replica"] = {
                "node": topo.specs[1].name, **image_record(topo.backend.client, topo.config.image_replica,
                                                           topo.config.image_replica_info, MYSQL_HARNESS_SETTINGS)}
    ctx.outcome.topology["replication"] = "gtid" if topo.by_gtid else "position"
    channel = topo.replica_status()
    ctx.outcome.topology["replication_login"] = {"tls": channel.get("tls"),
                                                 "get_source_public_key": channel.get("get_source_public_key")}
    ctx.outcome.topology["client_tls"] = (  # how the harness, its load and its clients reach the servers
        f"TLS, the servers' certificates and addresses verified against {topo.tls_ca}" if topo.tls_ca else
        "TLS when the server offers it, its certificate not verified (PyMySQL's default; --tls or --tls-ca verify)")
    admin = topo.admin(topo.source)
    try:
        with admin.cursor() as cur:
            for statement in schema(topo.workload_db):
                cur.execute(statement)
            if topo.attached:  # the heartbeat table lives in the run's database too
                cur.execute(f"CREATE TABLE IF NOT EXISTS `{topo.meta_db}`.heartbeat "
                            "(id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)")
                cur.execute(f"REPLACE INTO `{topo.meta_db}`.heartbeat VALUES (1, NOW(6))")
    finally:
        admin.close()
    target = source_position(topo)
    if not wait_replica_reached(topo, target, 30):
        raise ChaosError(f"the replica did not receive the workload's table within 30 s: "
                         f"{replica_progress(topo, target)}")
    skipped = ctx.state.skipped = SkippedErrors(topo)
    skipped.start()


def refuse_mismatch(config: Any, replication: str, skip_errors: str | None, pair: str, fix: str) -> None:
    """--replication (and --replica-skip-errors) against a pair the run did not configure: what
    it must already be, never a change to it."""
    if config.replication and config.replication != replication:
        raise ChaosError(f"--replication {config.replication}, but {pair} replicates by {replication}; drop "
                         f"--replication or {fix}")
    if config.replica_skip_errors and skip_errors is None:  # attached: the harness never changes its settings
        raise ChaosError(f"--replica-skip-errors configures only a pair the harness starts, not {pair}; drop it")
    if config.replica_skip_errors and config.replica_skip_errors != skip_errors:
        raise ChaosError(f"--replica-skip-errors configures a pair the harness starts; {pair} has "
                         f"{skip_errors or 'none'}; drop it or {fix}")


def check_server_family(config: Any, version: str, pair: str) -> None:
    """--server against a pair that is already running: it must name the family the servers are."""
    if not config.server:
        return
    from chaos.servers import parse_server

    wanted = parse_server(config.server, "mysql").family.name
    actual = "mariadb" if "mariadb" in version.lower() else "mysql"
    if wanted != actual:
        raise ChaosError(f"--server {config.server}, but {pair} runs {'MariaDB' if actual == 'mariadb' else 'MySQL'} "
                         f"{version}; drop --server or give --server {actual}")


def attach_pair(ctx: ReplicationCtx) -> Any:
    """--source/--replica: check and map the user's pair, record it (a crashed run's `chaos
    down` brings back what it stopped); at the end drop the run's database (unless --keep-data)
    and bring the replica back."""
    from chaos.topology.attach_input import prompt_password, read_password
    from chaos.topology.attach_mysql import AttachedMysqlReplication

    config, state = ctx.config, ctx.state_dir
    if not config.replica:
        raise ChaosError("--source needs --replica too (mysql://USER@HOST:PORT of each)")
    if state.topology("mysql-replication") is not None:
        raise ChaosError(f"{state.path} already records a mysql-replication; attaching needs a state dir of its "
                         "own (`chaos down` first, or give --state-dir)")
    password = read_password(config.password_env, config.source) or \
        (prompt_password(config.source) if not config.password_env else None) or ""
    topo = AttachedMysqlReplication.discover(state, config.source, config.replica, password, config.backend,
                                             ctx.run.run_id, config.allow_remote, config.tls_ca)
    problems = topo.problems_before_faults()  # the steady state, and what the options say of the pair
    if problems:
        raise ChaosError(f"steady state not reached: {'; '.join(problems)}; fix it and run again")
    check_server_family(config, topo.server_version_of(topo.source), f"--source {topo.source.address}")
    refuse_mismatch(config, "gtid" if topo.by_gtid else "position", None, f"--replica {topo.replica.address}",
                    "attach a pair that does")
    ctx.say(f"attached to the source {topo.source.address} and replica {topo.replica.address} as "
            f"{topo.admin_user!r}:")
    for line in topo.describe():
        ctx.say(line)
    state.ensure()
    topo.save()

    def finish() -> None:
        topo.restore(ctx.say)
        topo.release()

    ctx.cleanup(finish)
    if not config.keep_data:
        def drop() -> None:
            topo.drop_database()
            ctx.say(f"dropped the run's database {topo.workload_db}")
        ctx.cleanup(drop)
    ctx.outcome.topology["attached"] = {"source": topo.source.address, "replica": topo.replica.address,
                                        "database": topo.workload_db, "unmapped": topo.unmapped,
                                        "replication": topo.replication_mode()}
    ctx.say(f"replication by {topo.replication_mode()}; the run's tables go to the database {topo.workload_db}")
    return topo


@action(reads=["topo"], writes=["heartbeat", "probe", "fault_at", "clients"])
def start_heartbeat_probe_and_load(ctx: ReplicationCtx) -> None:
    start_observers_and_load(ctx)


def start_observers_and_load(ctx: ReplicationCtx, endpoint_file: Path | None = None) -> None:
    """Heartbeat on the source, probe on the replica, load into the source. With
    ``endpoint_file`` (the source's address, rewritten when a promotion moves it) the load, the
    heartbeat and the probe follow the roles."""
    topo, config, run = ctx.state.topo, ctx.config, ctx.run
    source, replica = topo.source, topo.replica
    row = new_heartbeat_row()  # lag is judged only from the run's own heartbeats
    heartbeat = HeartbeatWriter(lambda: topo.admin(topo.source, 2), row, database=topo.meta_db)  # the source now
    heartbeat.start()
    ctx.state.heartbeat = heartbeat
    ctx.cleanup(heartbeat.stop)
    follow = (lambda: (topo.replica.name, topo.replica.address)) if endpoint_file else None
    probe = ReplicaProbe(replica.name, replica.address,
                         (lambda: topo.admin(topo.replica, 1)) if endpoint_file else (lambda: topo.admin(replica, 1)),
                         run.dir / "timeline.jsonl", run.t0, run.wall0, row, topo.dialect,
                         on_sample=lambda s: run.events.mysql_sample.fire(**s), database=topo.meta_db, follow=follow)
    probe.start()
    ctx.state.probe = probe
    ctx.cleanup(probe.stop)
    run.phase("warmup")
    ctx.load = start_load(run, "mysql", config.users, config.duration + 600, seed=ctx.seed, state=ctx.state_dir,
                          **config.load_options(),
                          env={"CHAOS_MYSQL_PASSWORD": topo.secrets["admin"]},
                          mysql={"host": source.host, "port": source.port, "user": topo.admin_user,
                                 "database": topo.workload_db, "tls": topo.client_tls(),
                                 **({"endpoint_file": str(endpoint_file)} if endpoint_file else {})})
    ctx.cleanup(ctx.load.stop)
    ctx.state.clients = start_clients(ctx, {"mysql": {
        "host": source.host, "port": source.port, "user": topo.admin_user, "database": topo.workload_db,
        "tls": topo.client_tls(), "id_base": ctx.load.settings.id_base,
        **({"endpoint_file": str(endpoint_file)} if endpoint_file else {})}},
        ("CHAOS_MYSQL_PASSWORD", topo.secrets["admin"]), "mysql")
    pace = f"{config.rate:g} statements/s" if config.rate else "unpaced"
    ctx.state.fault_at = ctx.elapsed() + config.warmup
    ctx.say(f"load: {config.users} users, {pace}, into {source.address}; warm-up {config.warmup:g} s")


@action(reads=["topo", "heartbeat", "probe", "clients"])
def cooldown_and_settle(ctx: ReplicationCtx) -> None:
    """Cool-down, stop the load and the heartbeat, wait until the replica applied everything."""
    topo = ctx.state.topo
    ctx.run.phase("cooldown")
    ctx.sleep_until(max(ctx.elapsed() + 2.0, ctx.config.duration))
    stop_clients(ctx, ctx.state.clients)
    ctx.load.stop()
    heartbeat, probe = ctx.state.heartbeat, ctx.state.probe
    heartbeat.stop()
    final_target = source_position(topo)
    settled = wait_replica_reached(topo, final_target, ctx.config.catchup_timeout)
    probe.stop()
    ctx.say(f"load stopped after {ctx.elapsed():.1f} s; replica {'has' if settled else 'has NOT'} "
            f"applied everything ({final_target})")
    for what, thread in (("probe", probe), ("heartbeat", heartbeat)):
        if thread.errors:
            ctx.say(f"note: the {what} hit {thread.errors} error(s); last: {thread.last_error}")
    ctx.outcome.topology["after"] = topo.status()
