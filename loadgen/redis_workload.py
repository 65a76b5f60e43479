"""What one Redis load user does, free of Locust: unique-key writes, read-backs, counters.

Keys carry a hash tag from a fixed table so their slot is known without hashing on the hot
path and every slot range (every master) gets traffic: ``chaos:{<tag>}:<run>:<user>:<seq>``.
The value of a write is derived from its key (``<user>:<seq>``), so a final read can check it.
One attempt is one recorded operation; after a failed attempt the user refreshes its slot map
and backs off, and the next attempt is a new operation in the history.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from redis.crc import key_slot

from chaos.clients.resp import ClusterClient, Indeterminate, NotSent, ReplyError
from chaos.history import FAIL, INFO, INVOKE, OK, HistoryWriter

TAG_COUNT = 1024
TAGS = [f"t{i}" for i in range(TAG_COUNT)]
TAG_SLOTS = [key_slot(t.encode()) for t in TAGS]
BACKOFF_MIN, BACKOFF_MAX = 0.005, 0.1


def write_key(run_id: str, user: int, seq: int) -> tuple[str, int]:
    i = (user * 7919 + seq) % TAG_COUNT
    return f"chaos:{{{TAGS[i]}}}:{run_id}:{user}:{seq}", TAG_SLOTS[i]


def counter_key(run_id: str, n: int) -> tuple[str, int]:
    i = (n * 257) % TAG_COUNT
    return f"chaos:{{{TAGS[i]}}}:{run_id}:ctr:{n}", TAG_SLOTS[i]


def write_value(user: int, seq: int) -> str:
    return f"{user}:{seq}"


# (request name, response time ms, error or None) → None; the Locust side fires its events here
Report = Callable[[str, str, float, str | None], None]


class RedisWorkload:
    def __init__(self, user: int, run_id: str, client: ClusterClient, history: HistoryWriter,
                 report: Report, rng: random.Random, weights: tuple[int, int, int], counters: int,
                 sleep: Callable[[float], None] = time.sleep):
        self.user, self.run_id, self.client, self.history = user, run_id, client, history
        self.report, self.rng, self.counters, self.sleep = report, rng, counters, sleep
        self.seq = 0
        self.acked: list[str] = []  # recent acknowledged keys, for read-backs
        self.failures = 0
        write_w, read_w, incr_w = weights
        self.choices = ["write"] * write_w + ["read"] * read_w + (["incr"] * incr_w if counters else [])

    def step(self) -> None:
        kind = self.rng.choice(self.choices)
        if kind == "read" and self.acked:
            key = self.rng.choice(self.acked)
            self.attempt("read", key, key_slot(key.encode()), None, ("GET", key))
        elif kind == "incr":
            key, slot = counter_key(self.run_id, self.rng.randrange(self.counters))
            self.attempt("incr", key, slot, None, ("INCR", key))
        else:
            key, slot = write_key(self.run_id, self.user, self.seq)
            value = write_value(self.user, self.seq)
            self.seq += 1
            if self.attempt("write", key, slot, value, ("SET", key, value)) == OK:
                self.acked.append(key)
                if len(self.acked) > 64:
                    del self.acked[:32]

    def attempt(self, f: str, key: str, slot: int, value: Any, command: tuple[Any, ...]) -> str:
        record = self.history.record
        started = time.monotonic()
        record(INVOKE, self.user, f, key, value, at=started)
        node = error = None
        try:
            node, reply = self.client.call_slot(slot, *command)
            outcome = OK
            if f != "write":
                value = reply.decode() if isinstance(reply, bytes) else reply
        except ReplyError as exc:
            outcome, node, error = FAIL, exc.node, f"ReplyError: {exc}"
        except NotSent as exc:
            outcome, node, error = FAIL, exc.node, f"NotSent: {exc}"
        except Indeterminate as exc:
            outcome, node, error = INFO, exc.node, f"Indeterminate: {exc}"
        finished = time.monotonic()
        record(outcome, self.user, f, key, value, node, error, at=finished)
        self.report(f, outcome, (finished - started) * 1000.0, error)
        if outcome == OK:
            self.failures = 0
        else:
            self.failures += 1
            self.client.refresh()
            self.sleep(min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (self.failures - 1)))
        return outcome
