"""replica-stop: stop the MySQL/MariaDB replica under write load, measure lag and catch-up,
and compare the data.

Steady state (both servers up, IO and SQL threads running) → heartbeat + replica probe + load →
warm-up → stop the replica (``stop``: graceful shutdown; ``kill``: SIGKILL; ``sql-thread``:
``STOP SLAVE SQL_THREAD`` so relay logs pile up) for --down-seconds while writes go on → start
it again → wait until it has caught up → cool-down → stop load → wait for the last writes →
compare every table of every non-system database, and read back every acknowledged insert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from chaos.backends import make_backend
from chaos.backends.base import NodeStatus
from chaos.checkers.counts import WindowCounter
from chaos.checkers.replication import gtid_reached, lag_summary
from chaos.errors import ChaosError
from chaos.history import INVOKE, OK
from chaos.observe.mysql_probe import HeartbeatWriter, ReplicaProbe
from chaos.runner import analyze_history, iso, merge_run_history, start_load
from chaos.state import StateDir
from chaos.topology.mysql_replication import (
    ADMIN_USER,
    MysqlReplication,
    MysqlReplicationConfig,
    compare_tables,
    read_rows,
    replication_errors,
    source_position,
    wait_replica_reached,
)
from loadgen.mysql_workload import SCHEMA
from scenarios.base import (
    RunConfig,
    ScenarioRun,
    check,
    copy_node_files,
    load_final_read,
    read_timeline,
    reanalyze,
    report_text,  # noqa: F401  (the scenario's `chaos report`)
    run_options,
    save_final_read,
    sleep_until,
)

NAME = "replica-stop"
SUMMARY = "Stop the MySQL/MariaDB replica under write load: lag, catch-up, lost rows, checksums"
MODES = ("stop", "kill", "sql-thread")
MEASUREMENTS = ["replica_down_seconds", "max_lag_seconds", "catchup_seconds", "writes_during_outage",
                "lost_rows", "checksum_match", "replication_errors"]
KNOWN = set(MEASUREMENTS) | {"ops.ok", "ops.fail", "ops.info", "max_seconds_behind_master", "lost_rows_on_source"}


@dataclass
class ReplicaStopConfig(RunConfig):
    BACKENDS = ("process", "docker")
    users: int = 8
    rate: float | None = 1000.0
    down_seconds: float = 5.0
    mode: str = "stop"
    base_port: int = 3307
    catchup_timeout: float = 180.0

    def validate(self) -> None:
        super().validate()
        if self.mode not in MODES:
            raise ChaosError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.down_seconds <= 0:
            raise ChaosError("--down-seconds must be positive")


def run_replica_stop(state: StateDir, config: ReplicaStopConfig) -> int:
    provisioned = False
    sql_thread_stopped = [False]  # set while the fault holds the SQL thread, read by the cleanup
    with ScenarioRun(NAME, config, KNOWN) as sr:
        run, outcome, seed = sr.run, sr.outcome, sr.seed
        if state.topology("mysql-replication") is None:
            topo = MysqlReplication(state, MysqlReplicationConfig(base_port=config.base_port),
                                    make_backend(config.backend, state.path))
            run.say("starting a MariaDB source and replica")
            provisioned = True
            run.say(f"replication up in {topo.up(say=run.say):.2f} s")
            sr.cleanup(sr.teardown, topo, "the source and replica")
        else:
            topo = MysqlReplication.attach(state)
            run.say(f"using the mysql-replication already up in {state.path} ({topo.backend.name} backend)")
            config.backend = topo.backend.name  # the run reports where its servers really ran
        sr.cleanup(copy_node_files, topo.specs, run, ("my.cnf",))
        if not provisioned or config.keep:  # leave the pair replicating, as we found it
            sr.cleanup(heal, topo, sql_thread_stopped)
        problems = topo.replication_problems()
        if problems:
            raise ChaosError(f"steady state not reached: {'; '.join(problems)}; fix it or `chaos down` and run again")
        outcome.topology["before"] = topo.status()
        source, replica = topo.source, topo.replica
        admin = topo.admin(source)
        with admin.cursor() as cur:
            for statement in SCHEMA:
                cur.execute(statement)
        admin.close()
        if not wait_replica_reached(topo, source_position(topo), 30):
            raise ChaosError("the replica did not receive the workload's table within 30 s")
        heartbeat = HeartbeatWriter(lambda: topo.admin(source, 2))
        heartbeat.start()
        sr.cleanup(heartbeat.stop)
        probe = ReplicaProbe(replica.name, replica.address, lambda: topo.admin(replica, 1), run.dir / "timeline.jsonl",
                             run.t0, run.wall0, on_sample=lambda s: run.bus.fire("mysql_sample", **s))
        probe.start()
        sr.cleanup(probe.stop)
        run.phase("warmup")
        load = start_load(run, "mysql", config.users, config.duration + 600, seed=seed, **config.load_options(),
                          env={"CHAOS_MYSQL_PASSWORD": topo.secrets["admin"]},
                          mysql={"host": source.host, "port": source.port, "user": ADMIN_USER})
        sr.cleanup(load.stop)
        pace = f"{config.rate:g} statements/s" if config.rate else "unpaced"
        run.say(f"load: {config.users} users, {pace}, into {source.address}; warm-up {config.warmup:g} s")
        sleep_until(run, run.elapsed() + config.warmup, load)
        # the fault
        run.phase("fault")
        fault_mono = run.fault(INVOKE, config.mode, replica.name)
        if config.mode == "stop":
            topo.backend.stop(replica.name, timeout=60)
        elif config.mode == "kill":
            topo.backend.kill(replica.name)
        else:
            conn = topo.admin(replica)
            with conn.cursor() as cur:
                cur.execute("STOP SLAVE SQL_THREAD")
            conn.close()
            sql_thread_stopped[0] = True
        run.fault(OK, config.mode, replica.name)
        fault_t = run.elapsed(fault_mono)
        run.bus.fire("fault", fault=config.mode, active=True)
        outcome.fault = {"kind": config.mode, "target": replica.address, "target_name": replica.name,
                         "target_role": "replica", "injected_at": run.wall(fault_mono),
                         "injected_at_iso": iso(run.wall(fault_mono)), "down_seconds": config.down_seconds}
        run.say({"stop": "stopped", "kill": "killed", "sql-thread": "stopped the SQL thread of"}[config.mode]
                + f" the replica {replica.address} for {config.down_seconds:g} s")
        sleep_until(run, fault_t + config.down_seconds, load)
        # start it again
        run.phase("recovery")
        target = source_position(topo)
        restart_mono = run.fault(INVOKE, "start", replica.name)
        start_replica(topo, config.mode)
        sql_thread_stopped[0] = False
        run.fault(OK, "start", replica.name)
        restart_t = run.elapsed(restart_mono)
        if config.mode != "sql-thread":
            topo.save()
        run.bus.fire("fault", fault=config.mode, active=False)
        run.say(f"replica started again; source at GTID {target}")

        def caught_up(s: dict[str, Any]) -> bool:
            return bool(s["time"] >= restart_t and s.get("up") and s.get("heartbeat_lag") is not None
                        and s["heartbeat_lag"] < 1.0 and s.get("sql_thread") == "Yes"
                        and gtid_reached(s.get("gtid"), target))

        if probe.wait_for(caught_up, config.catchup_timeout):
            run.say(f"replica caught up after {probe.latest['time'] - restart_t:.2f} s")
        else:
            run.say(f"replica did not catch up within {config.catchup_timeout:g} s")
        run.phase("cooldown")
        sleep_until(run, max(run.elapsed() + 2.0, config.duration), load)
        load.stop()
        heartbeat.stop()
        final_target = source_position(topo)
        settled = wait_replica_reached(topo, final_target, config.catchup_timeout)
        probe.stop()
        run.say(f"load stopped after {run.elapsed():.1f} s; replica {'has' if settled else 'has NOT'} "
                f"applied everything ({final_target})")
        merge_run_history(run)
        outcome.topology["after"] = topo.status()
        run.say("reading back every insert on both servers; checksumming every table")
        outcome.context = {"mode": config.mode, "fault_t": fault_t, "restart_t": restart_t, "target_gtid": target,
                           "phases": run.phases}

        def read_and_keep(keys: set[str]) -> dict[str, Any]:
            ids = sorted(k for k in keys if k.isdigit())
            save_final_read(run.dir / FINAL_READ_SOURCE, read_rows(topo, source, ids))
            on_replica = read_rows(topo, replica, ids)
            save_final_read(run.dir / FINAL_READ, on_replica)
            return on_replica

        live = {"tables": compare_tables(topo), "replication_error_detail": replication_errors(topo),
                "heartbeats": heartbeat.beats, "probe_samples": probe.samples}
        outcome.measurements, outcome.checks = measure(run.dir, outcome.context, read_and_keep, live)
    return sr.conclude(MEASUREMENTS)


FINAL_READ, FINAL_READ_SOURCE = "final-read.jsonl", "final-read-source.jsonl"


def measure(run_dir: Path, ctx: dict[str, Any], read_final: Callable[[set[str]], dict[str, Any]],
            live: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Measurements and checks from the run directory's history, timeline and final reads
    (``read_final`` reads the replica and keeps the source's rows in final-read-source.jsonl), and
    what could only be measured live (tables, replication errors)."""
    fault_t, restart_t = ctx["fault_t"], ctx["restart_t"]
    during = WindowCounter("insert", fault_t, restart_t)
    analysis = analyze_history(run_dir / "history.jsonl", read_final, lambda op: "chaos.items",
                               [tuple(p) for p in ctx["phases"]], write_f="insert", extra=(during,))
    lost_keys = analysis.writes.pop("lost_keys")
    (run_dir / "lost-rows.txt").write_text("".join(f"{k}\n" for k in lost_keys))
    on_source = load_final_read(run_dir / FINAL_READ_SOURCE)
    lag = lag_summary(read_timeline(run_dir / "timeline.jsonl"), fault_t, restart_t, ctx["target_gtid"])
    comparison, errors = live["tables"], live["replication_error_detail"]
    m: dict[str, Any] = {
        "mode": ctx["mode"],
        "replica_down_seconds": round(restart_t - fault_t, 6),
        "max_lag_seconds": lag["max_lag_seconds"],
        "max_lag_before_fault_seconds": lag["max_lag_before_fault_seconds"],
        "max_seconds_behind_master": lag["max_seconds_behind_master"],
        "catchup_seconds": lag["catchup_seconds"],
        "writes_during_outage": during.count,
        "lost_rows": analysis.writes["lost"],
        "lost_rows_on_source": sum(1 for k in lost_keys if k not in on_source),
        "unacked_applied_rows": analysis.writes["unacked_applied"],
        "checksum_match": comparison["checksum_match"],
        "replication_errors": errors["count"],
        "replication_error_detail": errors,
        "ops": analysis.ops,
        "latency_ms": analysis.latency,
        "inserts": analysis.writes,
        "availability": analysis.availability,
        "tables": comparison,
        "heartbeats": live.get("heartbeats"),
        "probe_samples": live.get("probe_samples"),
    }
    checks = [
        check("replica_caught_up", lag["catchup_seconds"] is not None, lag["catchup_seconds"]),
        check("no_lost_rows", m["lost_rows"] == 0, m["lost_rows"], "==0"),
        check("checksums_match", comparison["checksum_match"], ", ".join(comparison["mismatched_tables"]) or 0),
        check("no_replication_errors", errors["count"] == 0 and errors["slave_skip_errors"] in (None, "OFF", ""),
              errors["count"], "==0"),
    ]
    return m, checks


def reanalyze_run(run_dir: Path, slos: list[str]) -> int:
    return reanalyze(run_dir, slos, KNOWN, MEASUREMENTS, analyze)


def analyze(run_dir: Path, result: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Recompute a finished run's verdict from its files (`chaos analyze RUN_DIR`)."""
    stored = load_final_read(run_dir / FINAL_READ)
    return measure(run_dir, result["context"], lambda keys: stored, result["measurements"])


def start_replica(topo: MysqlReplication, mode: str) -> None:
    if mode != "sql-thread":
        topo.backend.restart(topo.replica.name, ready_timeout=120)
    conn = topo.admin(topo.replica)
    with conn.cursor() as cur:
        cur.execute("START SLAVE SQL_THREAD" if mode == "sql-thread" else "START SLAVE")
    conn.close()


def heal(topo: MysqlReplication, sql_thread_stopped: list[bool]) -> None:
    if topo.backend.status(topo.replica.name) == NodeStatus.STOPPED:
        start_replica(topo, "start")
        topo.save()
    elif sql_thread_stopped[0]:
        start_replica(topo, "sql-thread")








@click.command(NAME, help=f"""{SUMMARY}.

Starts a MariaDB source and replica unless a pair is up (`chaos up mysql-replication`), drives
inserts, updates and reads through the source, stops the replica for --down-seconds, starts it
again and measures how long it takes to catch up (heartbeat lag under 1 s and everything the
source had written at the restart applied), then compares every table of every non-system
database (row counts, CHECKSUM TABLE) and reads back every acknowledged insert on the replica.

\b
Modes:
  stop        graceful shutdown of the replica, then start it and START SLAVE
  kill        SIGKILL of the replica, then start it (crash recovery) and START SLAVE
  sql-thread  STOP SLAVE SQL_THREAD: the IO thread keeps fetching, relay logs pile up

\b
Examples:
  chaos run replica-stop
  chaos run replica-stop --mode kill --down-seconds 10 --slo 'catchup_seconds<=30'
  chaos run replica-stop --mode sql-thread --users 16 --metrics-port 9464

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
@run_options(users=8, rate=1000.0, what="a pair", backends=("process", "docker"),
             rate_help="Target statements/s over all users, paced; 0 = as fast as possible (a single-threaded "
             "replica may then never catch up: that is worth knowing too).")
@click.option("--down-seconds", default=5.0, show_default=True, help="How long the replica stays stopped.")
@click.option("--mode", type=click.Choice(MODES), default="stop", show_default=True, help="How the replica stops.")
@click.option("--base-port", default=3307, show_default=True, help="Source port of a pair this run starts.")
@click.option("--catchup-timeout", default=180.0, show_default=True, help="Seconds to wait for the catch-up.")
@click.pass_obj
def command(state: StateDir, **options: Any) -> None:
    options["slo"] = list(options["slo"])
    raise SystemExit(run_replica_stop(state, ReplicaStopConfig(**options)))
