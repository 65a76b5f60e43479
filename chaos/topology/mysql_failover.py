"""Promote a MySQL/MariaDB replica the way an operator (or an orchestrator) does, find what the
old source holds that the new one never had, and bring the old source back: as a replica when
that is safe, else rebuilt from the new source.

Every statement goes through the pair's :class:`~chaos.topology.mysql_dialect.Dialect`; the
roles live in the topology (``topo.source`` / ``topo.replica``) and are swapped, and saved, the
moment the replica is writable, so `chaos status` and `chaos down` always name the source."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pymysql

from chaos.checkers.replication import (
    binlog_position,
    format_gtid_set,
    gtid_count,
    gtid_reached,
    gtid_set_minus,
    mariadb_errant,
    parse_binlog_position,
    position_reached,
)
from chaos.errors import ChaosError
from chaos.topology.mysql_replication import REPL_USER, SYSTEM_SCHEMAS, MysqlReplication, scalar
from chaos.wait import wait_until

SEMI_SYNC_MODES = ("off", "after-sync", "after-commit")
PROMOTE_MODES = ("after-apply", "immediate")
REJOIN_MODES = ("as-replica", "rebuild", "no")


def _execute(conn: Any, *statements: str | tuple[str, tuple[Any, ...]]) -> None:
    with conn.cursor() as cur:
        for statement in statements:
            if isinstance(statement, tuple):
                cur.execute(*statement)
            else:
                cur.execute(statement)


def forget_replication(conn: Any, dialect: Any) -> None:
    """Stop and forget any replication configuration (a server that was a source has none: its
    refusal is no error)."""
    for statement in (dialect.stop_replica_sql, dialect.reset_replica_all_sql):
        try:
            _execute(conn, statement)
        except pymysql.err.MySQLError:
            pass


def _variable(conn: Any, name: str) -> Any:
    with conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
        row = cur.fetchone()
    return row[1] if row else None


def enable_semi_sync(topo: MysqlReplication, mode: str, timeout_ms: int) -> dict[str, Any]:
    """Semi-synchronous replication on the current source and replica, at run time (a restart
    turns it off again): the wait point of ``mode`` and the fallback timeout. Returns what the
    servers say afterwards (the replica's IO thread restarts to register as semi-sync)."""
    dialect = topo.dialect
    src, rep = dialect.semi_sync_source, dialect.semi_sync_replica
    for spec, role in ((topo.source, "source"), (topo.replica, "replica")):
        conn = topo.admin(spec)
        try:
            prefix = src if role == "source" else rep
            if scalar(conn, "SHOW VARIABLES LIKE %s", (f"{prefix}_enabled",)) is None:
                for statement in dialect.semi_sync_plugins(role):
                    _execute(conn, statement)
            if role == "source":
                _execute(conn, f"SET GLOBAL {src}_wait_point = '{mode.replace('-', '_').upper()}'",
                         (f"SET GLOBAL {src}_timeout = %s", (int(timeout_ms),)), f"SET GLOBAL {src}_enabled = ON")
            else:
                io_thread = dialect.stop_replica_sql + " IO_THREAD"
                _execute(conn, f"SET GLOBAL {rep}_enabled = ON", io_thread,
                         dialect.start_replica_sql + " IO_THREAD")
        except pymysql.err.MySQLError as exc:
            raise ChaosError(f"cannot turn semi-sync on at {spec.address}: {exc.args[-1]}") from None
        finally:
            conn.close()
    conn = topo.admin(topo.source)
    try:
        clients_ok = wait_until(lambda: str(_variable(conn, f"{src}_clients".capitalize())) not in ("0", "None"),
                                10, 0.1)
        state = {"mode": mode, "timeout_ms": int(timeout_ms), "status": _variable(conn, dialect.semi_sync_status_var),
                 "replicas": int(_variable(conn, f"{src}_clients".capitalize()) or 0)}
    finally:
        conn.close()
    if not clients_ok or state["status"] != "ON":
        raise ChaosError(f"semi-sync did not come on at {topo.source.address} (status {state['status']}, "
                         f"{state['replicas']} semi-sync replicas)")
    return state


def disable_semi_sync(topo: MysqlReplication) -> list[str]:
    """--semi-sync off: turn semi-sync off where an earlier run (on a pair that stays up) left it
    on, so an asynchronous run is asynchronous. Returns the servers where it was on."""
    dialect = topo.dialect
    was_on = []
    for spec, prefix in ((topo.source, dialect.semi_sync_source), (topo.replica, dialect.semi_sync_replica)):
        conn = topo.admin(spec)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW VARIABLES LIKE %s", (f"{prefix}_enabled",))
                row = cur.fetchone()
                if row and str(row[1]).upper() == "ON":
                    cur.execute(f"SET GLOBAL {prefix}_enabled = OFF")
                    was_on.append(spec.name)
        finally:
            conn.close()
    return was_on


def received_everything_applied(topo: MysqlReplication) -> bool:
    """Whether the replica's SQL thread applied everything its IO thread received (GTID sets,
    or the source's coordinates in position replication)."""
    conn = topo.admin(topo.replica, 2)
    try:
        status = topo.replica_status(conn)
        if topo.by_gtid:
            return gtid_reached(scalar(conn, f"SELECT {topo.dialect.executed_position}"), status.get("received_gtid"))
        return position_reached(topo.dialect.applied_position(status), topo.dialect.received_position(status))
    finally:
        conn.close()


def promote(topo: MysqlReplication, immediate: bool, apply_timeout: float,
            mark: Callable[[str, dict[str, Any]], None]) -> dict[str, Any]:
    """Promote the replica: (unless ``immediate``) wait until its relay log is applied, stop
    replication, note what it applied of the old source, forget the replication configuration,
    note its own binary log position (where the old source rejoins), make it writable; then
    swap the roles in the topology. ``mark(step, detail)`` is called as each step ends."""
    new = topo.replica
    dialect = topo.dialect
    steps: dict[str, Any] = {}
    started = time.monotonic()
    if not immediate:
        applied = wait_until(lambda: received_everything_applied(topo), apply_timeout, 0.05, retry_on=(ChaosError,))
        steps["relay_log_applied"] = bool(applied)
        mark("relay-log-applied" if applied else "relay-log-not-applied", {"after": round(time.monotonic() - started, 6)})
    conn = topo.admin(new)
    try:
        _execute(conn, dialect.stop_replica_sql)
        status = topo.replica_status(conn)
        steps["applied_of_old_source"] = dialect.applied_position(status)  # old-source coordinates
        steps["received_of_old_source"] = dialect.received_position(status)
        steps["applied_gtid"] = scalar(conn, f"SELECT {dialect.executed_position}")
        mark("replication-stopped", {"applied": steps["applied_of_old_source"], "gtid": steps["applied_gtid"]})
        _execute(conn, dialect.reset_replica_all_sql)
        mark("replication-reset", {})
        with conn.cursor() as cur:
            cur.execute(dialect.binlog_status_sql)
            row = cur.fetchone()
        steps["new_source_position"] = binlog_position(str(row[0]), int(row[1])) if row else None
        steps["new_source_gtid"] = scalar(conn, f"SELECT {dialect.source_position}")
        if dialect.name == "mysql":
            _execute(conn, "SET GLOBAL super_read_only = OFF")
        _execute(conn, "SET GLOBAL read_only = OFF")
    finally:
        conn.close()
    topo.swap_roles()
    steps["seconds"] = round(time.monotonic() - started, 6)
    mark("writable", {"node": new.name, "address": new.address})
    return steps


def _state(topo: MysqlReplication, spec: Any) -> str | None:
    conn = topo.admin(spec)
    try:
        return scalar(conn, "SELECT @@gtid_binlog_state" if topo.dialect.name == "mariadb"
                       else "SELECT @@global.gtid_executed")
    finally:
        conn.close()


def errant_transactions(topo: MysqlReplication, promoted: dict[str, Any], limit: int = 100) -> dict[str, Any]:
    """What the old source (``topo.replica`` now, running again) committed that the new source
    never had: the GTID set difference (MySQL), the per-server sequence numbers past the new
    source's (MariaDB), or in position replication the old source's binary log transactions
    past the coordinates the new source had applied when it was promoted."""
    old, new = topo.replica, topo.source
    if topo.by_gtid:
        old_set, new_set = _state(topo, old), _state(topo, new)
        if topo.dialect.name == "mysql":
            diff = gtid_set_minus(old_set, new_set)
            return {"method": "gtid set difference", "count": gtid_count(diff),
                    "transactions": format_gtid_set(diff), "old_source": old_set}
        errant = mariadb_errant(old_set, new_set)
        return {"method": "gtid_binlog_state difference", "count": sum(hi - lo + 1 for _, _, lo, hi in errant),
                "transactions": ",".join(f"{d}-{s}-{lo}" + (f"..{d}-{s}-{hi}" if hi > lo else "")
                                         for d, s, lo, hi in errant), "old_source": old_set}
    return binlog_past(topo, old, promoted.get("applied_of_old_source"), limit)


def binlog_past(topo: MysqlReplication, spec: Any, position: str | None, limit: int) -> dict[str, Any]:
    """The transactions (commit events: Xid, or a COMMIT query) in ``spec``'s binary logs past
    ``position`` (``file@pos``), listed as ``file@end_log_pos`` up to ``limit``."""
    at = parse_binlog_position(position)
    if at is None:
        return {"method": "binary log events", "count": None, "transactions": [],
                "note": "the promoted replica's applied position is unknown"}
    conn = topo.admin(spec, 30)
    found: list[str] = []
    count = 0
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW BINARY LOGS")
            files = [str(r[0]) for r in cur.fetchall() if str(r[0]) >= at[0]]
            for name in files:
                start = at[1] if name == at[0] else 4
                cur.execute(f"SHOW BINLOG EVENTS IN '{name}' FROM {int(start)}")
                for row in cur.fetchall():
                    event_type, info, end = str(row[2]), str(row[5] or ""), row[4]
                    if event_type == "Xid" or (event_type == "Query" and info.strip().upper() == "COMMIT"):
                        count += 1
                        if len(found) < limit:
                            found.append(binlog_position(name, int(end)))
    finally:
        conn.close()
    return {"method": "binary log events", "count": count, "transactions": found, "past": position}


def point_at_new_source(topo: MysqlReplication, conn: Any, at: tuple[str, int] | None) -> None:
    """Configure ``conn``'s server as a replica of ``topo.source`` and start replication."""
    src, dialect = topo.source, topo.dialect
    _execute(conn, dialect.change_source(src.host, src.port, REPL_USER, topo.secrets["repl"], at,
                                         tls=topo.source_serves_tls(), ca=topo.replication_ca(topo.replica)),
             dialect.start_replica_sql)


def rejoin_as_replica(topo: MysqlReplication, promoted: dict[str, Any]) -> None:
    """The old source (without errant transactions) follows the new one: GTID auto-positioning
    (MariaDB: from its own binary log position), or the new source's coordinates at promotion."""
    conn = topo.admin(topo.replica)
    try:
        forget_replication(conn, topo.dialect)
        at = None
        if not topo.by_gtid:
            at = parse_binlog_position(promoted.get("new_source_position"))
            if at is None:
                raise ChaosError("the new source's binary log position at promotion is unknown: cannot rejoin")
        elif topo.dialect.name == "mariadb":
            _execute(conn, "SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos")
        point_at_new_source(topo, conn, at)
    finally:
        conn.close()


def rebuild(topo: MysqlReplication, say: Callable[[str], None]) -> dict[str, Any]:
    """Rebuild the old source from the new one, as a logical copy does (mysqldump
    --single-transaction --source-data): a consistent snapshot of every non-system database and
    the new source's position under a brief global read lock; on the old source, its binary log
    and GTID history emptied (the errant transactions with it), the databases replaced without
    logging, the position set, and replication started."""
    new, old = topo.source, topo.replica
    dialect = topo.dialect
    started = time.monotonic()
    src = topo.admin(new, 60)
    dst = topo.admin(old, 60)
    rows_copied = 0
    try:
        with src.cursor() as cur:
            cur.execute("FLUSH TABLES WITH READ LOCK")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            cur.execute(dialect.binlog_status_sql)
            row = cur.fetchone()
            position = (str(row[0]), int(row[1]))
            cur.execute("SELECT @@gtid_binlog_pos" if dialect.name == "mariadb" else "SELECT @@global.gtid_executed")
            gtid = cur.fetchone()[0]
            cur.execute("UNLOCK TABLES")
            cur.execute("SHOW DATABASES")
            databases = [str(r[0]) for r in cur.fetchall() if str(r[0]).lower() not in SYSTEM_SCHEMAS]
        forget_replication(dst, dialect)
        _execute(dst, "SET SESSION sql_log_bin = 0")
        for db in databases:
            with src.cursor() as cur:
                cur.execute(f"SHOW CREATE DATABASE `{db}`")
                create_db = cur.fetchone()[1]
                cur.execute(f"SHOW FULL TABLES FROM `{db}` WHERE Table_type = 'BASE TABLE'")
                tables = [str(r[0]) for r in cur.fetchall()]
            _execute(dst, f"DROP DATABASE IF EXISTS `{db}`", create_db)
            for table in tables:
                with src.cursor() as cur:
                    cur.execute(f"SHOW CREATE TABLE `{db}`.`{table}`")
                    create = cur.fetchone()[1]
                _execute(dst, f"USE `{db}`", create)
                with src.cursor(pymysql.cursors.SSCursor) as cur:
                    cur.execute(f"SELECT * FROM `{db}`.`{table}`")
                    while batch := cur.fetchmany(2000):
                        marks = ", ".join(["%s"] * len(batch[0]))
                        with dst.cursor() as out:
                            out.executemany(f"INSERT INTO `{db}`.`{table}` VALUES ({marks})", batch)
                        rows_copied += len(batch)
        src.rollback()
        _execute(dst, dialect.reset_binlogs_sql)
        if topo.by_gtid:
            _execute(dst, ("SET GLOBAL gtid_slave_pos = %s" if dialect.name == "mariadb" else "SET GLOBAL gtid_purged = %s",
                           (gtid,)))
        point_at_new_source(topo, dst, None if topo.by_gtid else position)
    finally:
        src.close()
        dst.close()
    seconds = round(time.monotonic() - started, 6)
    say(f"rebuilt {old.name} from {new.name}: {len(databases)} databases, {rows_copied} rows in {seconds:.2f} s, "
        f"replicating from {gtid if topo.by_gtid else binlog_position(*position)}")
    return {"databases": databases, "rows": rows_copied, "seconds": seconds,
            "from": gtid if topo.by_gtid else binlog_position(*position)}
