"""The one place that spells replication statements: MariaDB's and Oracle MySQL's (8.4 removed
``SHOW SLAVE STATUS``, ``START/STOP SLAVE`` and ``CHANGE MASTER TO``; the GTID positions differ
too). A :class:`Dialect` is chosen from the server's own version string (:func:`dialect_of`), never
from an image name; every probe, fault, wait and checker asks it. Replica status rows come back
with neutral names (:meth:`Dialect.replica_status`), so nothing else knows either spelling.

Pure: statements and row translation only, unit-tested on literal rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaos.checkers.replication import binlog_position

# neutral name → (MariaDB's field, MySQL's field) of the replica status row
STATUS_FIELDS = {
    "io_running": ("Slave_IO_Running", "Replica_IO_Running"),
    "sql_running": ("Slave_SQL_Running", "Replica_SQL_Running"),
    "seconds_behind": ("Seconds_Behind_Master", "Seconds_Behind_Source"),
    "source_host": ("Master_Host", "Source_Host"),
    "source_port": ("Master_Port", "Source_Port"),
    "last_errno": ("Last_Errno", "Last_Errno"),
    "last_error": ("Last_Error", "Last_Error"),
    "last_io_errno": ("Last_IO_Errno", "Last_IO_Errno"),
    "last_io_error": ("Last_IO_Error", "Last_IO_Error"),
    "last_sql_errno": ("Last_SQL_Errno", "Last_SQL_Errno"),
    "last_sql_error": ("Last_SQL_Error", "Last_SQL_Error"),
    "using_gtid": ("Using_Gtid", "Auto_Position"),  # MariaDB: No / Slave_Pos / Current_Pos; MySQL: 0 / 1
    # the source's binary log coordinates of the last event the applier executed
    "applied_file": ("Relay_Master_Log_File", "Relay_Source_Log_File"),
    "applied_pos": ("Exec_Master_Log_Pos", "Exec_Source_Log_Pos"),
    # how the IO thread logs in: TLS, or caching_sha2_password's RSA key fetched from the source
    "tls": ("Master_SSL_Allowed", "Source_SSL_Allowed"),
    "get_source_public_key": ("", "Get_Source_public_key"),  # MySQL only
    # what the IO thread received (applied or not): GTIDs, and the source's coordinates
    "received_gtid": ("Gtid_IO_Pos", "Retrieved_Gtid_Set"),
    "received_file": ("Master_Log_File", "Source_Log_File"),
    "received_pos": ("Read_Master_Log_Pos", "Read_Source_Log_Pos"),
    # what the applier is doing now ("Waiting for table metadata lock", "Reading event from the relay log")
    "sql_state": ("Slave_SQL_Running_State", "Replica_SQL_Running_State"),
}
REPLICATION_MODES = ("gtid", "position")

# performance_schema (MySQL 8.0+): when the newest transaction a worker applied was committed on
# its original source, and when its apply ended; MariaDB has no such columns
APPLIER_LAG_SQL = (
    "SELECT TIMESTAMPDIFF(MICROSECOND, LAST_APPLIED_TRANSACTION_ORIGINAL_COMMIT_TIMESTAMP, "
    "LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP) / 1e6 AS applier_lag, "
    "TIMESTAMPDIFF(MICROSECOND, LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP, NOW(6)) / 1e6 AS applied_ago "
    "FROM performance_schema.replication_applier_status_by_worker "
    "WHERE LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP > '1970-01-02' "
    "ORDER BY LAST_APPLIED_TRANSACTION_END_APPLY_TIMESTAMP DESC LIMIT 1")


@dataclass(frozen=True)
class Dialect:
    name: str  # mariadb | mysql
    replica_status_sql: str
    start_replica_sql: str
    stop_sql_thread_sql: str
    start_sql_thread_sql: str
    executed_position: str  # the expression of what a replica has applied (a GTID position)
    source_position: str  # the expression of what a source has written (a GTID position)
    skip_errors: str  # the expression of the setting that hides replication errors
    skipped_errors_status: str | None  # the status counter of errors skipped, where the server keeps one
    binlog_status_sql: str  # the source's binary log file and position
    applier_lag_sql: str | None  # performance_schema's apply timestamps, where the server has them
    stop_replica_sql: str = ""
    reset_replica_all_sql: str = ""  # forget the replication configuration (a promoted replica)
    reset_binlogs_sql: str = ""  # empty the binary log and the GTID history (a rebuilt server)
    semi_sync_source: str = ""  # the prefix of the source's semi-sync variables
    semi_sync_replica: str = ""  # ... and the replica's

    @property
    def _column(self) -> int:
        return 0 if self.name == "mariadb" else 1

    def replica_status(self, row: dict[str, Any] | None) -> dict[str, Any]:
        """The replica status row in neutral names ({} when replication is not configured)."""
        if not row:
            return {}
        return {neutral: row.get(fields[self._column]) for neutral, fields in STATUS_FIELDS.items()}

    def uses_gtid(self, status: dict[str, Any]) -> bool:
        """Whether a (neutral) replica status says it replicates by GTID, not binlog position."""
        return status.get("using_gtid") not in (None, "", "No", 0, "0")

    def change_source(self, host: str, port: int, user: str, password: str,
                      at: tuple[str, int] | None = None, tls: bool = True,
                      ca: str | None = None) -> tuple[str, tuple[Any, ...]]:
        """Point the replica at ``host:port``: (statement, arguments). GTID positioning, or with
        ``at`` the source's binary log file and position (read from the source, never typed in).
        ``tls=False`` (MariaDB): log in without TLS, for a source that serves none (MariaDB 11.4+
        replicas require it by default, a 10.11 source has none). ``ca``: TLS verified against
        this CA file (on the replica's file system): the source's certificate and its address."""
        args: tuple[Any, ...] = (host, port, user, password)
        if ca:
            prefix = "MASTER" if self.name == "mariadb" else "SOURCE"
            verify = f"{prefix}_SSL=1, {prefix}_SSL_CA=%s, {prefix}_SSL_VERIFY_SERVER_CERT=1, "
        if self.name == "mariadb":
            sql = "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, " + \
                (verify if ca else "" if tls else "MASTER_SSL=0, ")
            if ca:
                args += (ca,)
            if at is None:
                return sql + "MASTER_USE_GTID=slave_pos", args
            return sql + "MASTER_LOG_FILE=%s, MASTER_LOG_POS=%s, MASTER_USE_GTID=no", args + at
        # MySQL >= 8.0.23; the IO thread fetches the source's RSA key for caching_sha2_password
        # over plain TCP (GET_SOURCE_PUBLIC_KEY=1)
        sql = "CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s, SOURCE_PASSWORD=%s, "
        if ca:
            sql, args = sql + verify, args + (ca,)
        if at is None:  # GTID auto-positioning (gtid_mode=ON on both)
            return sql + "SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1", args
        return (sql + "SOURCE_LOG_FILE=%s, SOURCE_LOG_POS=%s, SOURCE_AUTO_POSITION=0, GET_SOURCE_PUBLIC_KEY=1",
                args + at)

    def received_position(self, status: dict[str, Any]) -> str | None:
        """The source coordinates a (neutral) replica status says the IO thread received."""
        if not status.get("received_file") or status.get("received_pos") is None:
            return None
        return binlog_position(status["received_file"], status["received_pos"])

    @property
    def semi_sync_status_var(self) -> str:
        """The source's status variable that says whether semi-sync is in force now (OFF after
        the timeout fell back to async)."""
        return self.semi_sync_source.capitalize() + "_status"

    @property
    def semi_sync_no_tx_var(self) -> str:
        """The source's count of commits that were not acknowledged by a replica."""
        return self.semi_sync_source.capitalize() + "_no_tx"

    def semi_sync_plugins(self, role: str) -> list[str]:
        """The statements that make semi-sync available on a source or replica (MariaDB has it
        built in since 10.3; MySQL loads the plugin, once)."""
        if self.name == "mariadb":
            return []
        plugin = ("rpl_semi_sync_source", "semisync_source.so") if role == "source" else \
            ("rpl_semi_sync_replica", "semisync_replica.so")
        return [f"INSTALL PLUGIN {plugin[0]} SONAME '{plugin[1]}'"]

    def applied_position(self, status: dict[str, Any]) -> str | None:
        """The source coordinates a (neutral) replica status says the applier executed."""
        if not status.get("applied_file") or status.get("applied_pos") is None:
            return None
        return binlog_position(status["applied_file"], status["applied_pos"])


MARIADB = Dialect("mariadb", "SHOW SLAVE STATUS", "START SLAVE", "STOP SLAVE SQL_THREAD", "START SLAVE SQL_THREAD",
                  "@@gtid_slave_pos", "@@gtid_binlog_pos", "@@slave_skip_errors", "Slave_skipped_errors",
                  "SHOW MASTER STATUS", None, "STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER", "rpl_semi_sync_master",
                  "rpl_semi_sync_slave")
MYSQL = Dialect("mysql", "SHOW REPLICA STATUS", "START REPLICA", "STOP REPLICA SQL_THREAD", "START REPLICA SQL_THREAD",
                "@@global.gtid_executed", "@@global.gtid_executed", "@@replica_skip_errors", None,
                "SHOW BINARY LOG STATUS", APPLIER_LAG_SQL, "STOP REPLICA", "RESET REPLICA ALL",
                "RESET BINARY LOGS AND GTIDS", "rpl_semi_sync_source", "rpl_semi_sync_replica")


def dialect_of(version: str) -> Dialect:
    """The dialect of a server from ``SELECT VERSION()`` (``10.11.6-MariaDB-0+deb12u1`` / ``9.7.4``)."""
    return MARIADB if "mariadb" in version.lower() else MYSQL
