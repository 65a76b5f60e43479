"""replica-stop: stop the MySQL/MariaDB replica under write load, measure lag and catch-up,
and compare the data.

Steady state (both servers up, IO and SQL threads running) → heartbeat + replica probe + load →
warm-up → stop the replica (``stop``: graceful shutdown; ``kill``: SIGKILL; ``sql-thread``:
``STOP SLAVE SQL_THREAD`` so relay logs pile up) for --down-seconds while writes go on → start
it again → wait until it has caught up → cool-down → stop load → wait for the last writes →
compare every table of every non-system database, and read back every acknowledged insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from chaos.checkers.compose import Check, measure_parts
from chaos.checkers.counts import WindowCounter
from chaos.checkers.replication import catchup_blocked, is_caught_up, lag_summary
from chaos.engine import (
    Do,
    FinalReadLog,
    Heal,
    Inject,
    Phase,
    Plan,
    ReadFinal,
    SleepUntil,
    WaitUntil,
    action,
    iter_final_read,
    measure_live,
    read_timeline,
)
from chaos.engine.command import scenario_command
from chaos.errors import ChaosError
from chaos.faults import Fault, Kill, Stop, StopSqlThread
from chaos.measure_context import ReplicationContext
from chaos.options import option
from chaos.runner import analyze_history, iso
from chaos.settings import ReplicationConfig
from chaos.steps.client_view import clients_part, with_client_checks
from chaos.steps.mysql_replication import (
    ReplicationCtx,
    ReplicationState,
    cooldown_and_settle,
    provision_pair,
    start_heartbeat_probe_and_load,
)
from chaos.topology.mysql_compare import compare_tables, replication_errors, risky_settings, row_reader
from chaos.topology.mysql_replication import replica_progress, source_position, wait_replica_reached

NAME = "replica-stop"
SUMMARY = "Stop the MySQL/MariaDB replica under write load: lag, catch-up, lost rows, checksums"
MODES = ("stop", "kill", "sql-thread")
HEADLINE = ["replica_down_seconds", "max_lag_seconds", "catchup_seconds", "writes_during_outage",
            "lost_rows", "checksum_match", "replication_errors", "skipped_replication_errors"]
KNOWN = set(HEADLINE) | {"ops.ok", "ops.fail", "ops.info", "max_seconds_behind_master", "lost_rows_on_source",
                         "max_applier_lag_seconds", "skipped_replication_errors"}
FINAL_READ_SOURCE = "final-read-source.jsonl"


@dataclass
class ReplicaStopConfig(ReplicationConfig):
    users: int = 8
    rate: float | None = option(1000.0, "Target statements/s over all users, paced; 0 = as fast as possible (a "
                                "single-threaded replica may then never catch up: that is worth knowing too).")
    down_seconds: float = option(5.0, "How long the replica stays stopped.")
    mode: str = option("stop", "How the replica stops.", choices=MODES)
    stray_write: bool = option(False, "Show what replica_skip_errors hides: before the fault, write a row straight "
                               "to the replica (as the admin user; read_only without super_read_only lets it), then "
                               "during the outage the source writes that row and two more in one statement. "
                               "Without --replica-skip-errors the replica stops on error 1062; with "
                               "--replica-skip-errors 1062 it skips the statement and diverges while both threads "
                               "say Yes. Either way the run must fail, with the differing rows listed.")

    def validate(self) -> None:
        super().validate()
        if self.mode not in MODES:
            raise ChaosError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.down_seconds <= 0:
            raise ChaosError("--down-seconds must be positive")
        if self.stray_write and self.source:
            raise ChaosError("--stray-write diverges or breaks the replica on purpose: never on your own pair; drop "
                             "--source/--replica and let the run start one")


STRAY_TABLE = "stray_rows"


@action(reads=["topo", "skipped"])
def before_fault(ctx: ReplicationCtx) -> None:
    """The skipped-error count before the fault (a restarted MariaDB starts its counter again);
    with --stray-write, the table both servers will write and the replica's stray row."""
    topo = ctx.state.topo
    if ctx.config.stray_write:
        admin = topo.admin(topo.source)
        try:
            with admin.cursor() as cur:
                cur.execute(f"CREATE TABLE IF NOT EXISTS `{topo.workload_db}`.{STRAY_TABLE} "
                            "(id INT PRIMARY KEY, value VARCHAR(64) NOT NULL)")
        finally:
            admin.close()
        target = source_position(topo)
        if not wait_replica_reached(topo, target, 30):
            raise ChaosError(f"the replica did not receive {STRAY_TABLE} within 30 s: {replica_progress(topo, target)}")
        replica = topo.admin(topo.replica)
        try:
            with replica.cursor() as cur:
                cur.execute(f"INSERT INTO `{topo.workload_db}`.{STRAY_TABLE} VALUES (1, 'written on the replica')")
            ctx.say(f"stray write: row 1 of {topo.workload_db}.{STRAY_TABLE} written straight to the replica "
                    f"{topo.replica.address} (read_only did not stop {topo.admin_user!r})")
        except pymysql.err.MySQLError as exc:
            ctx.say(f"stray write refused by the replica ({exc.args[-1]}): nothing for replica_skip_errors to hide")
        finally:
            replica.close()
    ctx.state.skipped.before_fault()


@action(reads=["topo"])
def write_colliding_rows(ctx: ReplicationCtx) -> None:
    """--stray-write, during the outage: the source writes rows 1-3 in one statement; the
    replica applies it after the restart and finds row 1 already there."""
    if not ctx.config.stray_write:
        return
    topo = ctx.state.topo
    admin = topo.admin(topo.source)
    try:
        with admin.cursor() as cur:
            cur.execute(f"INSERT INTO `{topo.workload_db}`.{STRAY_TABLE} VALUES (1, 'one'), (2, 'two'), (3, 'three')")
    finally:
        admin.close()
    ctx.say(f"the source wrote rows 1-3 of {STRAY_TABLE} in one statement")


def start_replication(topo: Any) -> None:
    """After the replica's server is back: start replication, and record its new pid."""
    conn = topo.admin(topo.replica)
    try:
        with conn.cursor() as cur:
            cur.execute(topo.dialect.start_replica_sql)
    finally:
        conn.close()
    topo.save()


@action(reads=["topo"])
def replica_fault(ctx: ReplicationCtx) -> Fault:
    """The fault of --mode, each healed by starting the replica (and replication) again."""
    topo, mode = ctx.state.topo, ctx.config.mode
    if mode == "sql-thread":
        return StopSqlThread(topo)
    why = topo.can_fault(topo.replica.name) if topo.attached else None
    if why:
        raise ChaosError(f"--mode {mode} needs to start the replica again, and {topo.replica.name} cannot be: {why}; "
                         "--mode sql-thread needs no restart")
    start: dict[str, Any] = {"after_start": lambda: start_replication(topo), "ready_timeout": 120.0,
             "detail": f" for {ctx.config.down_seconds:g} s"}
    return Stop(topo.backend, topo.replica.name, timeout=60, **start) if mode == "stop" \
        else Kill(topo.backend, topo.replica.name, **start)


@action(reads=["topo", "fault"])
def after_fault(ctx: ReplicationCtx) -> None:
    topo = ctx.state.topo
    at = ctx.state.fault.injected_t
    wall = ctx.run.wall(ctx.run.t0 + at)
    ctx.outcome.fault = {"kind": ctx.config.mode, "target": topo.replica.address, "target_name": topo.replica.name,
                         "target_role": "replica", "injected_at": wall, "injected_at_iso": iso(wall),
                         "down_seconds": ctx.config.down_seconds}


@action(reads=["topo"], writes=["target_gtid"])
def before_restart(ctx: ReplicationCtx) -> None:
    ctx.state.target_gtid = source_position(ctx.state.topo)


@action(reads=["target_gtid"])
def after_restart(ctx: ReplicationCtx) -> None:
    ctx.say(f"source at {ctx.state.target_gtid}")


def restarted_at(ctx: ReplicationCtx) -> float:
    """When the replica's restart (the fault's heal) began."""
    started = ctx.state.fault.heal_started_t
    if started is None:
        raise ChaosError("the replica was never started again")
    return started


@action(reads=["probe", "fault", "target_gtid"])
def caught_up(ctx: ReplicationCtx) -> Any:
    """Wait condition, the same definition as the catch-up measurement; ends the wait early (with
    the error) when the replica's SQL thread stopped on an error after the restart."""
    s = ctx.state.probe.latest
    if not s or s["time"] < restarted_at(ctx):
        return False
    if s.get("up") and s.get("sql_thread") == "No" and s.get("last_errno") and s["time"] > restarted_at(ctx) + 1:
        return {"broken": f"error {s['last_errno']}: {s.get('last_error') or ''}"[:300]}
    return is_caught_up(s, ctx.state.target_gtid)


def say_caught_up(ctx: ReplicationCtx, ok: Any) -> None:
    if isinstance(ok, dict):
        ctx.say(f"the replica's SQL thread stopped on {ok['broken']}; it will not catch up")
    elif ok:
        latest = ctx.state.probe.latest or {}
        ctx.say(f"replica caught up after {latest['time'] - restarted_at(ctx):.2f} s")
        ctx.measured("catchup_seconds", round(latest["time"] - restarted_at(ctx), 6))
    else:
        latest = ctx.state.probe.latest or {}
        lag = latest.get("heartbeat_lag")
        why = catchup_blocked(list(ctx.state.probe.recent), restarted_at(ctx), ctx.state.target_gtid)
        ctx.say(f"replica did not catch up within {ctx.config.catchup_timeout:g} s (heartbeat lag "
                f"{'unknown' if lag is None else f'{lag:.1f} s'}): {why or ''}{'; ' if why else ''}"
                f"{replica_progress(ctx.state.topo, ctx.state.target_gtid)}")


@action(reads=["topo", "heartbeat", "probe", "fault", "target_gtid", "skipped"])
def measure_pair(ctx: ReplicationCtx) -> None:
    topo = ctx.state.topo
    ctx.say("reading back every insert on both servers; checksumming every table")
    skipped = ctx.state.skipped
    live = {"tables": compare_tables(topo),
            "replication_error_detail": replication_errors(topo, skipped.total(restarted=ctx.config.mode != "sql-thread")),
            "skipped_unknown_why": skipped.unknown_why, "findings": risky_settings(topo),
            "heartbeats": ctx.state.heartbeat.beats, "probe_samples": ctx.state.probe.samples}
    # the replica's rows judge the run; the source's are kept beside them for lost_rows_on_source
    with FinalReadLog(ctx.run.dir / FINAL_READ_SOURCE, row_reader(topo, topo.source)) as read_source:
        read_replica = row_reader(topo, topo.replica)

        def read_both(keys: list[str]) -> list[Any]:
            read_source(keys)
            return read_replica(keys)

        measure_live(ctx, read_both, live)


PLAN_STEPS = [
    Do(provision_pair),
    Do(start_heartbeat_probe_and_load),
    SleepUntil(lambda c: c.state.fault_at, reads=["fault_at"], name="warm-up"),
    Do(before_fault),
    Phase("fault"),
    Inject("replica", replica_fault, into="fault", then=after_fault),
    Do(write_colliding_rows),
    SleepUntil(lambda c: c.state.fault.injected_t + c.config.down_seconds, reads=["fault"], name="outage"),
    Phase("recovery"),
    Do(before_restart),
    Heal("replica"),
    Do(after_restart),
    WaitUntil("caught_up", caught_up, lambda c: c.config.catchup_timeout, say_caught_up, reads=["topo"]),
    Do(cooldown_and_settle),
    Do(measure_pair),
]


CHECKS = [
    # a run whose writes all failed during the outage tested nothing: it must not pass
    Check("writes_during_outage", "writes_during_outage", lambda v: v > 0, ">0"),
    Check("replica_caught_up", "catchup_seconds", lambda v: v is not None),
    Check("no_lost_rows", "lost_rows", lambda v: v == 0, "==0"),
    Check("checksums_match", "tables", lambda t: t["checksum_match"],
          shown=lambda t: ", ".join(t["mismatched_tables"]) or 0),
    # on evidence (errors raised or skipped); a setting that could hide them is a finding
    Check("no_replication_errors", "replication_error_detail", lambda e: e["count"] == 0, "==0",
          shown=lambda e: e["count"]),
]


def measure(run_dir: Path, ctx: ReplicationContext, read_final: ReadFinal,
            live: dict[str, Any]) -> tuple[dict[str, Any], list[Check]]:
    """Measurements and checks from the run directory's history, timeline and final reads
    (``read_final`` reads the replica and keeps the source's rows in final-read-source.jsonl), and
    what could only be measured live (tables, replication errors)."""
    fault_t, restart_t = ctx.fault_t, ctx.restart_t
    if restart_t is None:
        raise ChaosError("the replica was never started again: nothing to measure")

    def history(_: dict[str, Any]) -> dict[str, Any]:
        during = WindowCounter("insert", fault_t, restart_t)
        analysis = analyze_history(run_dir / "history.jsonl", read_final, lambda op: "chaos.items",
                                   [tuple(p) for p in ctx.phases], write_f="insert", extra=(during,))
        lost_keys = analysis.writes.pop("lost_keys")
        (run_dir / "lost-rows.txt").write_text("".join(f"{k}\n" for k in lost_keys))
        lost = set(lost_keys)
        on_source = {k for k, v in iter_final_read(run_dir / FINAL_READ_SOURCE) if k in lost and v is not None}
        return {
            "writes_during_outage": during.count,
            "lost_rows": analysis.writes["lost"],
            "lost_rows_on_source": sum(1 for k in lost_keys if k not in on_source),
            "unacked_applied_rows": analysis.writes["unacked_applied"],
            "ops": analysis.ops, "latency_ms": analysis.latency, "inserts": analysis.writes,
            "availability": analysis.availability,
        }

    def lag(_: dict[str, Any]) -> dict[str, Any]:
        summary = lag_summary(read_timeline(run_dir / "timeline.jsonl"), fault_t, restart_t, ctx.target_gtid,
                              wait_end=ctx.cooldown_t)
        return {k: summary[k] for k in ("max_lag_seconds", "max_lag_before_fault_seconds", "max_applier_lag_seconds",
                                        "max_seconds_behind_master", "seconds_behind_null_samples",
                                        "catchup_seconds", "catchup_blocked")}

    def tables(_: dict[str, Any]) -> dict[str, Any]:
        errors = live["replication_error_detail"]
        skipped = errors.get("skipped_errors")
        return {"checksum_match": live["tables"]["checksum_match"], "tables": live["tables"],
                "replication_errors": errors["count"], "replication_error_detail": errors,
                # a count, or "unknown" (never 0) where the server cannot tell
                "skipped_replication_errors": "unknown" if skipped is None and live.get("skipped_unknown_why")
                else skipped,
                "skipped_replication_errors_note": live.get("skipped_unknown_why"),
                "replication_errors_hidden": errors["slave_skip_errors"] not in (None, "OFF", ""),
                "findings": live.get("findings", [])}

    clients = clients_part(run_dir, read_final, lambda op: "victim", fault_t, None, slots_name="the table",
                           any_name="any table", write_f="insert")
    m = measure_parts([("history", history), ("lag", lag), ("tables", tables), ("clients", clients)])
    m.update(mode=ctx.mode, replica_down_seconds=round(restart_t - fault_t, 6),
             heartbeats=live.get("heartbeats"), probe_samples=live.get("probe_samples"))
    return m, with_client_checks(run_dir, CHECKS)


PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, KNOWN, HEADLINE, state=ReplicationState,
            context_of=ReplicationContext.of)


command = scenario_command(PLAN, ReplicaStopConfig, help=f"""{SUMMARY}.

Starts a MariaDB (or with --backend docker --server mysql:9.7 an Oracle MySQL) source and
replica unless a pair is up (`chaos up mysql-replication`), replicating by GTID or with
--replication position by binary log position, drives
inserts, updates and reads through the source, stops the replica for --down-seconds, starts it
again and measures how long it takes to catch up (heartbeat lag under 1 s and everything the
source had written at the restart applied), then compares every table of every non-system
database (row counts, CHECKSUM TABLE) and reads back every acknowledged insert on the replica.

\b
Modes:
  stop        graceful shutdown of the replica, then start it and START SLAVE (REPLICA)
  kill        SIGKILL of the replica, then start it (crash recovery) and START SLAVE (REPLICA)
  sql-thread  STOP SLAVE (REPLICA) SQL_THREAD: the IO thread keeps fetching, relay logs pile up

\b
Examples:
  chaos run replica-stop
  chaos run replica-stop --mode kill --down-seconds 10 --slo 'catchup_seconds<=30'
  chaos run replica-stop --mode sql-thread --users 16 --metrics-port 9464
  chaos run replica-stop --backend docker --server mysql:9.7 --replication position
  chaos run replica-stop --replica-skip-errors 1062 --stray-write   # what skipping 1062 hides
  MYSQL_PW=... chaos run replica-stop --source mysql://root@127.0.0.1:3306 \\
      --replica mysql://root@127.0.0.1:3307 --password-env MYSQL_PW --backend docker

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
