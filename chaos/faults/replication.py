"""Faults of MySQL/MariaDB replication itself."""

from __future__ import annotations

from typing import Any

from chaos.faults.base import Fault


class StopSqlThread(Fault):
    """Stop the replica's SQL (applier) thread (``STOP SLAVE SQL_THREAD`` / ``STOP REPLICA
    SQL_THREAD``): the IO thread keeps fetching, relay logs pile up; the heal starts it again."""

    name, heal_name = "sql-thread", "start-sql-thread"

    def __init__(self, topo: Any):
        self.topo, self.target = topo, topo.replica.name
        self.stopped = False

    def _execute(self, sql: str) -> None:
        conn = self.topo.admin(self.topo.replica)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def inject(self) -> None:
        self.stopped = True  # set first: a heal after a half-done inject must still start it
        self._execute(self.topo.dialect.stop_sql_thread_sql)

    def heal(self) -> None:
        if self.stopped:
            self._execute(self.topo.dialect.start_sql_thread_sql)
            self.stopped = False

    def describe(self) -> str:
        return f"stopped the SQL thread of the replica {self.target}"

    def describe_heal(self) -> str:
        return f"started the SQL thread of {self.target} again"
