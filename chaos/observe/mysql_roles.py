"""Each server's role over time: up or not, read-only or writable, and on the source whether
semi-synchronous replication is in force (it falls back to async, silently, after
``rpl_semi_sync_*_timeout``) and how many commits it made without a replica's acknowledgement.

One line per server every ``interval`` into ``roles.jsonl`` (``source: "roles"``), so the report
draws each server's role on the run's time axis and the measurements find when semi-sync fell
back from the servers' own status, not from a guess."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

from chaos.errors import ChaosError
from chaos.observe import FileSampler, close_quietly, paced
from chaos.topology.mysql_dialect import Dialect

Sample = dict[str, Any]


def role_sample(conn: Any, dialect: Dialect) -> Sample:
    """up, read_only and the semi-sync source status of one server (its own answers)."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@global.read_only")
        read_only = bool(int(cur.fetchone()[0]))
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN (%s, %s)",
                    (dialect.semi_sync_status_var, dialect.semi_sync_no_tx_var))
        status = {str(k).lower(): v for k, v in cur.fetchall()}
    semi = status.get(dialect.semi_sync_status_var.lower())
    no_tx = status.get(dialect.semi_sync_no_tx_var.lower())
    return {"up": True, "read_only": read_only, "semi_sync": semi if semi is None else semi == "ON",
            "semi_sync_no_tx": int(no_tx) if no_tx is not None else None}


class RoleWatch(FileSampler):
    """Samples every server of a pair (``nodes()`` → [(name, address, connect)]) into ``path``."""

    def __init__(self, nodes: Callable[[], list[tuple[str, str, Callable[[], Any]]]], dialect: Dialect,
                 path: Path, t0: float, wall0: float, interval: float = 0.2):
        self.nodes, self.dialect, self.path = nodes, dialect, path
        self.t0, self.wall0, self.interval = t0, wall0, interval
        self.latest: dict[str, Sample] = {}
        self.errors = 0
        self.last_error: str | None = None
        self._conns: dict[str, Any] = {}
        super().__init__("role-watch")

    def stop(self) -> None:
        super().stop()
        for conn in self._conns.values():
            close_quietly(conn)

    def _one(self, name: str, address: str, connect: Callable[[], Any]) -> Sample:
        started = time.monotonic()
        sample: Sample = {"source": "roles", "time": round(started - self.t0, 6),
                          "wall": round(self.wall0 + started - self.t0, 6), "node": name, "address": address}
        try:
            conn = self._conns.get(name)
            if conn is None:
                conn = self._conns[name] = connect()
            sample.update(role_sample(conn, self.dialect))
        except (pymysql.err.MySQLError, OSError, ChaosError) as exc:  # down, or not answering
            close_quietly(self._conns.pop(name, None))
            sample.update({"up": False, "error": f"{type(exc).__name__}: {exc}"[:200]})
        except Exception as exc:  # a bug of the watch must not end its thread
            close_quietly(self._conns.pop(name, None))
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            sample.update({"up": False, "error": f"watch error: {self.last_error}"})
        return sample

    def _loop(self) -> None:
        for _ in paced(self.interval, self._stop):
            for name, address, connect in self.nodes():
                sample = self._one(name, address, connect)
                self.latest[name] = sample
                self._out.write(json.dumps(sample, separators=(",", ":"), default=str) + "\n")
