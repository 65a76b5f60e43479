"""The one place that spells replication statements: MariaDB's and Oracle MySQL's (8.4 removed
``SHOW SLAVE STATUS``, ``START/STOP SLAVE`` and ``CHANGE MASTER TO``; the GTID positions differ
too). A :class:`Dialect` is chosen from the server's own version string (:func:`dialect_of`), never
from an image name; every probe, fault, wait and checker asks it. Replica status rows come back
with neutral names (:meth:`Dialect.replica_status`), so nothing else knows either spelling.

Pure: statements and row translation only, unit-tested on literal rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
}


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

    def change_source(self, host: str, port: int, user: str, password: str) -> tuple[str, tuple[Any, ...]]:
        """Point the replica at ``host:port`` with GTID positioning: (statement, arguments)."""
        if self.name == "mariadb":
            return ("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
                    "MASTER_USE_GTID=slave_pos", (host, port, user, password))
        # MySQL >= 8.0.23: GTID auto-positioning (gtid_mode=ON on both); the IO thread fetches the
        # source's RSA key for caching_sha2_password over plain TCP
        return ("CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, SOURCE_USER=%s, SOURCE_PASSWORD=%s, "
                "SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1", (host, port, user, password))


MARIADB = Dialect("mariadb", "SHOW SLAVE STATUS", "START SLAVE", "STOP SLAVE SQL_THREAD", "START SLAVE SQL_THREAD",
                  "@@gtid_slave_pos", "@@gtid_binlog_pos", "@@slave_skip_errors", "Slave_skipped_errors")
MYSQL = Dialect("mysql", "SHOW REPLICA STATUS", "START REPLICA", "STOP REPLICA SQL_THREAD", "START REPLICA SQL_THREAD",
                "@@global.gtid_executed", "@@global.gtid_executed", "@@replica_skip_errors", None)


def dialect_of(version: str) -> Dialect:
    """The dialect of a server from ``SELECT VERSION()`` (``10.11.6-MariaDB-0+deb12u1`` / ``9.7.4``)."""
    return MARIADB if "mariadb" in version.lower() else MYSQL
