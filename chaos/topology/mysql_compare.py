"""What a replication pair holds at the end of a run: every user table of both servers compared
(row counts, CHECKSUM TABLE), the rows the run inserted read back from either server, and the
replication errors the replica recorded (or hid with slave_skip_errors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pymysql

from chaos.backends.base import NodeSpec
from chaos.topology.mysql_replication import SYSTEM_SCHEMAS, MysqlReplication, _scalar


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
    return {"tables": tables, "checksum_match": not mismatched, "mismatched_tables": mismatched}


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


def replication_errors(topo: MysqlReplication) -> dict[str, Any]:
    """Errors and error-hiding settings of the replica: Last_*_Errno, slave_skip_errors and the
    count of skipped errors (a setting like slave_skip_errors can hide divergence)."""
    dialect = topo.dialect
    conn = topo.admin(topo.replica)
    try:
        status = topo.replica_status(conn)
        skip_setting = _scalar(conn, f"SELECT {dialect.skip_errors}")
        row = None
        if dialect.skipped_errors_status:  # MySQL keeps no such counter
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE %s", (dialect.skipped_errors_status,))
                row = cur.fetchone()
        skipped = int(row[1]) if row else 0
    finally:
        conn.close()
    errors = {shown: status.get(neutral) for shown, neutral in ERROR_FIELDS.items()}
    count = sum(1 for k in ("Last_Errno", "Last_IO_Errno", "Last_SQL_Errno") if errors.get(k)) + skipped
    return {"count": count, "skipped_errors": skipped, "slave_skip_errors": skip_setting, **errors}


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
