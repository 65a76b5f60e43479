"""Replication lag measured properly (the pt-heartbeat method) and replica state sampling.

A heartbeat writer updates ``chaos_meta.heartbeat`` on the source with ``NOW(6)`` every 100 ms,
in a row of the run's own (:func:`new_heartbeat_row`); the replica probe reads that row and the
replica status (in the server's dialect, :mod:`chaos.topology.mysql_dialect`) every 100 ms.
Heartbeat lag = now − the run's newest heartbeat applied (same machine, same clock). Until the
replica has applied the run's first heartbeat the lag is unknown (None), never read from a row an
earlier run or `chaos up` left: that row is as old as the gap between them, and would be
reported as lag that never happened. ``Seconds_Behind_Master`` is recorded beside it as the
server gives it (NULL stays null: it is NULL while a replication thread is stopped, and 0 when
the SQL thread caught up with a lagging IO thread, so it is never used alone). Where the server
has them (MySQL 8.0+), performance_schema's apply timestamps give a third view: the newest
applied transaction's original commit → end of apply (``applier_lag``), the server's own
account of the lag, compared with the heartbeat's in the result."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

from chaos.errors import ChaosError
from chaos.observe import FileSampler, close_quietly, paced
from chaos.topology.mysql_dialect import Dialect
from chaos.topology.mysql_replication import META_DB

Sample = dict[str, Any]
SETUP_ROW = 1  # the row `chaos up` writes to check replication; never a run's


def new_heartbeat_row() -> int:
    """A heartbeat row of a run's own: random (run ids repeat across `--repeat` sessions, and a
    row an earlier run left would be read before this run's first heartbeat arrives), never
    :data:`SETUP_ROW`."""
    return random.SystemRandom().randrange(SETUP_ROW + 1, 2**31)


class HeartbeatWriter:
    def __init__(self, connect: Callable[[], Any], row: int, interval: float = 0.1, database: str = META_DB):
        self.connect, self.row, self.interval, self.database = connect, row, interval, database
        self.beats = 0
        self.errors = 0  # failed heartbeats (source down, or a bug): counted, the loop goes on
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = self.connect()
                with conn.cursor() as cur:
                    cur.execute(f"REPLACE INTO `{self.database}`.heartbeat VALUES (%s, NOW(6))", (self.row,))
                self.beats += 1
            except Exception as exc:  # never let the heartbeat thread die silently
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                close_quietly(conn)
                conn = None
            self._stop.wait(self.interval)
        if conn is not None:
            conn.close()


class ReplicaProbe(FileSampler):
    def __init__(self, node: str, address: str, connect: Callable[[], Any], timeline: Path, t0: float,
                 wall0: float, row: int, dialect: Dialect, interval: float = 0.1,
                 on_sample: Callable[[Sample], None] | None = None, database: str = META_DB,
                 follow: Callable[[], tuple[str, str]] | None = None):
        """``follow()``, when given, names the replica of the moment (name, address): the probe
        moves to it (and ``connect`` reaches it) after a promotion swapped the roles."""
        self.node, self.address, self.connect, self.database, self.row = node, address, connect, database, row
        self.follow = follow
        self.dialect = dialect
        self.path, self.t0, self.wall0, self.interval, self.on_sample = timeline, t0, wall0, interval, on_sample
        self.latest: Sample | None = None
        self.recent: deque[Sample] = deque(maxlen=6000)  # the last ~10 minutes, for live explanations
        self.samples = 0
        self.errors = 0  # unexpected errors of the probe itself, reported at the end
        self.last_error: str | None = None
        super().__init__("replica-probe")

    def sample(self, conn: Any) -> Sample:
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            # the run's own row only (no row yet: lag unknown); the position whether or not it is there
            cur.execute(f"SELECT (SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) / 1e6 FROM `{self.database}`.heartbeat "
                        f"WHERE id = %s) AS beat_age, {self.dialect.executed_position} AS gtid", (self.row,))
            beat = cur.fetchone() or {}
            cur.execute(self.dialect.replica_status_sql)
            status = self.dialect.replica_status(cur.fetchone())
            applier: dict[str, Any] = {}
            if self.dialect.applier_lag_sql:
                cur.execute(self.dialect.applier_lag_sql)
                applier = cur.fetchone() or {}
        return {  # the timeline's field names (seconds_behind_master: as every stored run has it)
            "up": True,
            "heartbeat_lag": float(beat["beat_age"]) if beat.get("beat_age") is not None else None,
            "seconds_behind_master": status.get("seconds_behind"),
            "io_thread": status.get("io_running"),
            "sql_thread": status.get("sql_running"),
            "gtid": beat.get("gtid"),
            "applied_pos": self.dialect.applied_position(status),  # the source's binlog file@pos applied
            # performance_schema: original commit → end of apply of the newest transaction applied
            "applier_lag": float(applier["applier_lag"]) if applier.get("applier_lag") is not None else None,
            "applied_ago": float(applier["applied_ago"]) if applier.get("applied_ago") is not None else None,
            "last_errno": status.get("last_errno"),
            "last_error": status.get("last_error") or None,
        }

    def _loop(self) -> None:
        conn = None
        for _ in paced(self.interval, self._stop):
            if self.follow is not None and self.follow() != (self.node, self.address):
                self.node, self.address = self.follow()
                close_quietly(conn)
                conn = None
            started = time.monotonic()
            sample: Sample = {"source": "probe", "time": round(started - self.t0, 6),
                              "wall": round(self.wall0 + started - self.t0, 6), "node": self.node,
                              "address": self.address}
            try:
                if conn is None:
                    conn = self.connect()
                sample.update(self.sample(conn))
            except pymysql.err.ProgrammingError as exc:  # the probe's own SQL is wrong for this server: a bug
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                sample.update({"up": False, "error": f"probe error: {self.last_error}"})
            except (pymysql.err.MySQLError, OSError, ChaosError) as exc:  # the replica does not answer
                close_quietly(conn)
                conn = None
                sample.update({"up": False, "error": f"{type(exc).__name__}: {exc}"})
            except Exception as exc:  # a bug of the probe must not end its thread
                close_quietly(conn)
                conn = None
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                sample.update({"up": False, "error": f"probe error: {self.last_error}"})
            self.latest = sample
            self.recent.append(sample)
            self.samples += 1
            self._out.write(json.dumps(sample, separators=(",", ":"), default=str) + "\n")
            if self.on_sample is not None:
                try:
                    self.on_sample(sample)
                except Exception:
                    pass
        if conn is not None:
            conn.close()
