"""What a replication pair holds at the end of a run: every user table of both servers compared
(row counts, CHECKSUM TABLE), the rows the run inserted read back from either server, and the
replication errors the replica recorded (or hid with slave_skip_errors)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

from chaos.backends.base import NodeSpec
from chaos.topology.mysql_replication import SYSTEM_SCHEMAS, MysqlReplication, scalar


def user_tables(conn: pymysql.Connection, only: set[str] | None = None) -> list[tuple[str, str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type='BASE TABLE'")
        return sorted((db, t) for db, t in cur.fetchall()
                      if db.lower() not in SYSTEM_SCHEMAS and (only is None or db in only))


def table_digest(conn: pymysql.Connection, db: str, table: str) -> tuple[int, int | None]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{db}`.`{table}`")
        rows = cur.fetchone()[0]
        cur.execute(f"CHECKSUM TABLE `{db}`.`{table}` EXTENDED")
        checksum = cur.fetchone()[1]
    return rows, checksum


def compare_tables(topo: MysqlReplication) -> dict[str, Any]:
    """Row count and CHECKSUM TABLE of every table in every non-system database, on both sides
    (what pt-table-checksum covers, not only the workload's table)."""
    source, replica = topo.admin(topo.source, 30), topo.admin(topo.replica, 30)
    try:
        s_tables, r_tables = user_tables(source, topo.compare_dbs), user_tables(replica, topo.compare_dbs)
        tables = []
        for db, table in sorted(set(s_tables) | set(r_tables)):
            entry: dict[str, Any] = {"database": db, "table": table}
            for side, conn, present in (("source", source, s_tables), ("replica", replica, r_tables)):
                rows, checksum = table_digest(conn, db, table) if (db, table) in present else (None, None)
                entry[f"{side}_rows"], entry[f"{side}_checksum"] = rows, checksum
            entry["match"] = entry["source_rows"] == entry["replica_rows"] \
                and entry["source_checksum"] == entry["replica_checksum"] and entry["source_rows"] is not None
            tables.append(entry)
    finally:
        source.close()
        replica.close()
    mismatched = [f"{t['database']}.{t['table']}" for t in tables if not t["match"]]
    for entry in tables:
        if not entry["match"] and entry["source_rows"] is not None and entry["replica_rows"] is not None:
            entry["differences"] = first_differences(topo, entry["database"], entry["table"])
    return {"tables": tables, "checksum_match": not mismatched, "mismatched_tables": mismatched}


DIFF_ROW_LIMIT = 2_000_000  # tables larger than this get counts and checksums only


def _key_and_columns(conn: pymysql.Connection, db: str, table: str) -> tuple[list[str], list[str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.key_column_usage WHERE table_schema=%s AND "
                    "table_name=%s AND constraint_name='PRIMARY' ORDER BY ordinal_position", (db, table))
        key = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s "
                    "ORDER BY ordinal_position", (db, table))
        columns = [r[0] for r in cur.fetchall()]
    return key, columns


def _row_digests(conn: pymysql.Connection, db: str, table: str, key: list[str], columns: list[str]) -> dict[Any, str]:
    keys = ", ".join(f"`{k}`" for k in key)
    values = ", ".join(f"IFNULL(CAST(`{c}` AS CHAR), '<NULL>')" for c in columns)
    with conn.cursor() as cur:
        # SHA2: MySQL 9.7 has no MD5() or SHA1() any more (ERROR 1046: looked up as a stored function)
        cur.execute(f"SELECT {keys}, SHA2(CONCAT_WS('#', {values}), 256) FROM `{db}`.`{table}`")
        return {tuple(row[:-1]) if len(key) > 1 else row[0]: row[-1] for row in cur.fetchall()}


def _rows(conn: pymysql.Connection, db: str, table: str, key: list[str], wanted: list[Any]) -> dict[Any, str]:
    """Rows of ``wanted`` keys as short text (column=value, ...)."""
    if not wanted:
        return {}
    out = {}
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        for k in wanted:
            parts = k if isinstance(k, tuple) else (k,)
            cur.execute(f"SELECT * FROM `{db}`.`{table}` WHERE " + " AND ".join(f"`{c}`=%s" for c in key), parts)
            row = cur.fetchone()
            if row is not None:
                out[k] = ", ".join(f"{c}={v}" for c, v in row.items())[:200]
    return out


def first_differences(topo: MysqlReplication, db: str, table: str, limit: int = 10) -> dict[str, Any]:
    """The rows of a mismatched table that differ between the servers, by primary key: how many
    are missing on either side or differ, and the first ``limit`` of them with each side's row.
    A table without a primary key, or larger than :data:`DIFF_ROW_LIMIT`, gets a note instead."""
    source, replica = topo.admin(topo.source, 60), topo.admin(topo.replica, 60)
    try:
        key, columns = _key_and_columns(source, db, table)
        if not key:
            return {"note": "no primary key: rows cannot be matched, only counted and checksummed"}
        if max(scalar(source, f"SELECT COUNT(*) FROM `{db}`.`{table}`"),
               scalar(replica, f"SELECT COUNT(*) FROM `{db}`.`{table}`")) > DIFF_ROW_LIMIT:
            return {"note": f"more than {DIFF_ROW_LIMIT} rows: compared by count and checksum only"}
        on_source = _row_digests(source, db, table, key, columns)
        on_replica = _row_digests(replica, db, table, key, columns)
        summary = diff_digests(on_source, on_replica, limit)
        shown = [d["key"] for d in summary["rows"]]
        s_rows, r_rows = _rows(source, db, table, key, shown), _rows(replica, db, table, key, shown)
        for d in summary["rows"]:
            d["source"], d["replica"] = s_rows.get(d["key"]), r_rows.get(d["key"])
            d["key"] = list(d["key"]) if isinstance(d["key"], tuple) else d["key"]
        summary["key"] = key
        return summary
    finally:
        source.close()
        replica.close()


def diff_digests(on_source: dict[Any, str], on_replica: dict[Any, str], limit: int = 10) -> dict[str, Any]:
    """Per-key row digests of both sides → counts of rows missing on the replica, extra on it, and
    differing, and the first ``limit`` keys (in key order) with what is wrong (pure)."""
    missing = sorted(k for k in on_source if k not in on_replica)
    extra = sorted(k for k in on_replica if k not in on_source)
    differ = sorted(k for k in on_source if k in on_replica and on_source[k] != on_replica[k])
    kinds = [(k, "missing on the replica") for k in missing] + [(k, "only on the replica") for k in extra] + \
        [(k, "differs") for k in differ]
    first = sorted(kinds, key=lambda kv: kv[0])[:limit]
    return {"missing_on_replica": len(missing), "only_on_replica": len(extra), "differing": len(differ),
            "rows": [{"key": k, "problem": why} for k, why in first]}


def read_rows(topo: MysqlReplication, spec: NodeSpec, ids: list[str], batch: int = 1000) -> dict[str, Any]:
    """Final read of workload rows: id → value (absent ids are missing)."""
    from loadgen.mysql_workload import TABLE

    conn = topo.admin(spec, 30)
    out: dict[str, Any] = {}
    try:
        with conn.cursor() as cur:
            for i in range(0, len(ids), batch):
                chunk = [int(x) for x in ids[i : i + batch]]
                marks = ",".join(["%s"] * len(chunk))
                cur.execute(f"SELECT id, value FROM `{topo.workload_db}`.{TABLE} WHERE id IN ({marks})", chunk)
                out.update((str(row_id), value) for row_id, value in cur.fetchall())
    finally:
        conn.close()
    return out


def row_reader(topo: MysqlReplication, spec: NodeSpec) -> Callable[[list[str]], list[Any]]:
    """The final read of a batch of row ids on one server: their values in order (None when
    absent), as the write checker asks for them."""
    def read(keys: list[str]) -> list[Any]:
        found = read_rows(topo, spec, [k for k in keys if k.isdigit()])
        return [found.get(k) for k in keys]
    return read


# the result's names for the replica's last errors (as the servers' own status fields spell them)
ERROR_FIELDS = {"Last_Errno": "last_errno", "Last_Error": "last_error", "Last_IO_Errno": "last_io_errno",
                "Last_IO_Error": "last_io_error", "Last_SQL_Errno": "last_sql_errno", "Last_SQL_Error": "last_sql_error"}


def replication_errors(topo: MysqlReplication, skipped: int | None = None) -> dict[str, Any]:
    """Errors and error-hiding settings of the replica: Last_*_Errno, slave_skip_errors, and the
    errors skipped during the run (:class:`SkippedErrors`; None: the server cannot tell). The
    count is the errors raised plus those known skipped."""
    dialect = topo.dialect
    conn = topo.admin(topo.replica)
    try:
        status = topo.replica_status(conn)
        skip_setting = scalar(conn, f"SELECT {dialect.skip_errors}")
    finally:
        conn.close()
    errors = {shown: status.get(neutral) for shown, neutral in ERROR_FIELDS.items()}
    count = sum(1 for k in ("Last_Errno", "Last_IO_Errno", "Last_SQL_Errno") if errors.get(k)) + (skipped or 0)
    return {"count": count, "skipped_errors": skipped, "slave_skip_errors": skip_setting, **errors}


# MySQL at log_error_verbosity=3: "[Note] [MY-010584] [Repl] Replica SQL for channel '': Worker 1 failed
# executing transaction '...'; Could not execute Query event. Detailed error: Duplicate entry ...,
# Error_code: MY-001062" for each error replica_skip_errors skipped (a stopped applier logs [ERROR])
SKIPPED_LINE = re.compile(r"\[Note\] \[MY-010584\] .*Error_code: MY-0*(\d+)")


def count_skipped_in_log(text: str) -> int:
    """Replication errors skipped, as MySQL's error log (verbosity 3) records them (pure)."""
    return sum(1 for line in text.splitlines() if SKIPPED_LINE.search(line))


class SkippedErrors:
    """Counts the replication errors the replica skipped from :meth:`start` to :meth:`total`.

    MariaDB: the status counter ``Slave_skipped_errors`` (reset when the server restarts, so it is
    read before the fault too). MySQL keeps no counter: on servers the harness starts, the error
    log at ``log_error_verbosity=3`` has one Note per skipped error, counted from where the log
    stood at the start; anywhere else the count is unknown (None, with :attr:`unknown_why`)."""

    def __init__(self, topo: MysqlReplication):
        self.topo = topo
        self.unknown_why: str | None = None
        self._log: Path | None = None
        self._log_offset = 0
        self._start = self._before_fault = 0

    def _counter(self) -> int:
        conn = self.topo.admin(self.topo.replica)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE %s", (self.topo.dialect.skipped_errors_status,))
                row = cur.fetchone()
        finally:
            conn.close()
        return int(row[1]) if row else 0

    def start(self) -> None:
        topo = self.topo
        if topo.dialect.skipped_errors_status:
            self._start = self._before_fault = self._counter()
            return
        log = Path(topo.replica.log_path) if not topo.attached and topo.replica.log_file else None
        conn = topo.admin(topo.replica)
        try:
            verbosity = int(scalar(conn, "SELECT @@log_error_verbosity") or 0)
        finally:
            conn.close()
        if log is None or not log.exists():
            self.unknown_why = ("MySQL counts no skipped error, and the replica's error log is not the harness's to "
                                "read: the data comparison is the only witness")
        elif verbosity < 3:
            self.unknown_why = (f"MySQL counts no skipped error and logs none at log_error_verbosity={verbosity}: the "
                                "data comparison is the only witness")
        else:
            self._log, self._log_offset = log, log.stat().st_size

    def before_fault(self) -> None:
        if self.topo.dialect.skipped_errors_status:
            self._before_fault = self._counter()

    def total(self, restarted: bool) -> int | None:
        if self.topo.dialect.skipped_errors_status:
            end = self._counter()
            return (self._before_fault - self._start) + (end if restarted else end - self._before_fault)
        if self._log is None:
            return None
        with self._log.open("rb") as f:
            f.seek(self._log_offset)
            return count_skipped_in_log(f.read().decode(errors="replace"))


def _variables(conn: pymysql.Connection, names: tuple[str, ...]) -> dict[str, str]:
    """The global variables of ``names`` the server has (one it lacks is simply absent)."""
    with conn.cursor() as cur:
        cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + ", ".join(["%s"] * len(names)) + ")", names)
        return {name.lower(): str(value) for name, value in cur.fetchall()}


RISKY = ("sync_binlog", "innodb_flush_log_at_trx_commit", "binlog_format", "slave_skip_errors", "replica_skip_errors",
         "read_only", "super_read_only", "relay_log_recovery")


def findings(source: dict[str, str], replica: dict[str, str], by_gtid: bool, counts_skips: bool) -> list[dict[str, str]]:
    """Settings that can hide a loss or a divergence (pure, from both servers' variables): each a
    finding with one line of why, never a failure by itself; the run fails on evidence."""
    out = []

    def add(where: str, setting: str, value: str, why: str) -> None:
        out.append({"server": where, "setting": setting, "value": value, "why": why})

    skip = replica.get("replica_skip_errors", replica.get("slave_skip_errors", "OFF"))
    if skip not in ("OFF", ""):
        add("replica", "replica_skip_errors", skip, "errors of these codes are skipped: the replica keeps running "
            "while its data diverges" + ("" if counts_skips else "; this server counts no skipped error, so the data "
                                          "comparison is the only witness"))
    if replica.get("read_only") == "ON" and replica.get("super_read_only") == "OFF":
        add("replica", "super_read_only", "OFF", "read_only does not stop users with SUPER or CONNECTION_ADMIN (root) "
            "from writing to the replica")
    if not by_gtid and replica.get("relay_log_recovery") in ("OFF", "0"):
        add("replica", "relay_log_recovery", replica["relay_log_recovery"], "replicating by binlog position without it, "
            "a crashed replica can apply events twice")
    for where, variables in (("source", source), ("replica", replica)):
        if variables.get("sync_binlog") not in (None, "1"):
            add(where, "sync_binlog", variables["sync_binlog"], "a crash can lose transactions the binary log had "
                "acknowledged")
        if variables.get("innodb_flush_log_at_trx_commit") not in (None, "1"):
            add(where, "innodb_flush_log_at_trx_commit", variables["innodb_flush_log_at_trx_commit"],
                "a crash can lose committed transactions")
    if source.get("binlog_format", "ROW").upper() in ("STATEMENT", "MIXED"):
        add("source", "binlog_format", source["binlog_format"], "statements that are not deterministic can replicate "
            "to different data")
    return out


def risky_settings(topo: MysqlReplication) -> list[dict[str, str]]:
    """:func:`findings` of the pair, read from both servers."""
    read = {}
    for role, spec in (("source", topo.source), ("replica", topo.replica)):
        conn = topo.admin(spec)
        try:
            read[role] = _variables(conn, RISKY)
        finally:
            conn.close()
    dialect = topo.dialect
    return findings(read["source"], read["replica"], dialect.uses_gtid(topo.replica_status()),
                    dialect.skipped_errors_status is not None)
