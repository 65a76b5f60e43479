"""What one MySQL load user does, free of Locust: unique-id inserts, updates and reads of
rows it inserted, on ``chaos.items`` through PyMySQL. Autocommit: every statement is its own
transaction, so an acknowledged statement is a committed one.

Outcomes: a server error reply, a refused connection, or a connection that broke while sending
(2006) is ``fail``; a connection lost or timed out while waiting for the answer (2013, socket
timeout) is ``info``: the statement may have committed."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql

from chaos.history import FAIL, INFO, OK, HistoryWriter
from loadgen.workload import RecordingWorkload, Report

DATABASE, TABLE = "chaos", "items"  # the database of a pair the harness started; attached: chaos_<run id>


def schema(database: str = DATABASE) -> list[str]:
    return [
        f"CREATE DATABASE IF NOT EXISTS `{database}`",
        f"CREATE TABLE IF NOT EXISTS `{database}`.{TABLE} (id BIGINT PRIMARY KEY, value VARCHAR(64) NOT NULL, "
        "updates INT NOT NULL DEFAULT 0) ENGINE=InnoDB",
    ]


SCHEMA = schema()
ID_SPACE = 10**9  # row id = the run's base + user * ID_SPACE + seq
RUN_SPACE = 10**12  # ids one run can use (up to 1000 users)


def new_id_base() -> int:
    """Where a run's row ids start, drawn at random: the table outlives a run (a pair kept up, as
    `chaos up` makes it), and a run reusing another's ids would have every insert refused as a
    duplicate. 9 000 000 bases under BIGINT's maximum."""
    return random.SystemRandom().randrange(9_000_000) * RUN_SPACE


def current_endpoint(m: dict) -> tuple[str, int]:
    """Where the MySQL load connects: the source the harness named last in ``endpoint_file``
    (rewritten atomically when it promotes a replica, as a virtual IP or a proxy moves), else
    the fixed host and port."""
    path = m.get("endpoint_file")
    if path:
        try:
            endpoint = json.loads(Path(path).read_text())
            return endpoint["host"], int(endpoint["port"])
        except (OSError, ValueError, KeyError):
            pass  # not written yet, or a bug: the fixed address
    return m["host"], int(m["port"])


def row_value(user: int, seq: int) -> str:
    return f"{user}:{seq}"


class MysqlWorkload(RecordingWorkload):
    """``connect()`` returns (connection, address): the address the source has now (the load
    follows a promotion the way an application behind a virtual IP or a proxy does)."""

    def __init__(self, user: int, connect: Callable[[], Any], history: HistoryWriter, report: Report,
                 rng: random.Random, weights: tuple[int, int, int], node: str,
                 sleep: Callable[[float], None] = time.sleep, database: str = DATABASE, id_base: int = 0):
        super().__init__(user, history, report, sleep)
        self.connect, self.rng, self.node = connect, rng, node
        self.table = f"`{database}`.{TABLE}"
        self.conn: Any = None
        self.seq = 0
        self.id_base = id_base
        self.acked: list[int] = []
        insert_w, read_w, update_w = weights
        self.choices = ["insert"] * insert_w + ["read"] * read_w + ["update"] * update_w

    def classify(self, exc: Exception) -> tuple[str, str | None, str] | None:
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, pymysql.err.OperationalError) and exc.args and exc.args[0] == 2013:
            return INFO, self.node, text  # lost while waiting for the answer: maybe committed
        if isinstance(exc, pymysql.err.MySQLError):
            return FAIL, self.node, text  # a server error, refused or broken before sending
        if isinstance(exc, OSError):  # socket timeout / reset while waiting
            return INFO, self.node, text
        return None

    def recover(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    close = recover

    def _execute(self, sql: str, args: tuple) -> tuple[str, Any]:
        if self.conn is None:
            self.conn, self.node = self.connect()  # the address it connected to answers from now on
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            row = cur.fetchone() if sql.startswith("SELECT") else cur.rowcount
        return self.node, row[0] if isinstance(row, tuple) else row

    def step(self) -> None:
        kind = self.rng.choice(self.choices)
        if kind == "read" and self.acked:
            row_id = self.rng.choice(self.acked)
            self.attempt("read", str(row_id), None,
                         lambda: self._execute(f"SELECT value FROM {self.table} WHERE id=%s", (row_id,)))
        elif kind == "update" and self.acked:
            row_id = self.rng.choice(self.acked)
            self.attempt("update", str(row_id), None, lambda: self._execute(
                f"UPDATE {self.table} SET updates = updates + 1 WHERE id=%s", (row_id,)))
        else:
            row_id = self.id_base + self.user * ID_SPACE + self.seq
            value = row_value(self.user, self.seq)
            self.seq += 1
            outcome = self.attempt("insert", str(row_id), value, lambda: self._execute(
                f"INSERT INTO {self.table} (id, value) VALUES (%s, %s)", (row_id, value)), keep_value=True)
            if outcome == OK:
                self.acked.append(row_id)
                if len(self.acked) > 64:
                    del self.acked[:32]
