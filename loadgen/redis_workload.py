"""What one Redis load user does, free of Locust: unique-key writes, read-backs, counters.

Keys carry a hash tag from a fixed table so their slot is known without hashing on the hot
path and every slot range (every master) gets traffic: ``chaos:{<tag>}:<run>:<user>:<seq>``.
The value of a write is derived from its key (``<user>:<seq>``), so a final read can check it.
After a failed attempt the user refreshes its slot map; the next attempt is a new operation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from redis.crc import key_slot

from chaos.clients.resp import ClusterClient, Indeterminate, NotSent, ReplyError
from chaos.history import FAIL, INFO, OK, HistoryWriter
from loadgen.workload import RecordingWorkload, Report

TAG_COUNT = 1024
TAGS = [f"t{i}" for i in range(TAG_COUNT)]
TAG_SLOTS = [key_slot(t.encode()) for t in TAGS]


def write_key(run_id: str, user: int, seq: int) -> tuple[str, int]:
    i = (user * 7919 + seq) % TAG_COUNT
    return f"chaos:{{{TAGS[i]}}}:{run_id}:{user}:{seq}", TAG_SLOTS[i]


def counter_key(run_id: str, n: int) -> tuple[str, int]:
    i = (n * 257) % TAG_COUNT
    return f"chaos:{{{TAGS[i]}}}:{run_id}:ctr:{n}", TAG_SLOTS[i]


def write_value(user: int, seq: int) -> str:
    return f"{user}:{seq}"


class RedisWorkload(RecordingWorkload):
    def __init__(self, user: int, run_id: str, client: ClusterClient, history: HistoryWriter,
                 report: Report, rng: random.Random, weights: tuple[int, int, int], counters: int,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(user, history, report, sleep)
        self.run_id, self.client, self.rng, self.counters = run_id, client, rng, counters
        self.seq = 0
        self.acked: list[str] = []  # recent acknowledged keys, for read-backs
        write_w, read_w, incr_w = weights
        self.choices = ["write"] * write_w + ["read"] * read_w + (["incr"] * incr_w if counters else [])

    def classify(self, exc: Exception) -> tuple[str, str | None, str] | None:
        if isinstance(exc, ReplyError | NotSent):
            return FAIL, exc.node, f"{type(exc).__name__}: {exc}"
        if isinstance(exc, Indeterminate):
            return INFO, exc.node, f"Indeterminate: {exc}"
        return None

    def recover(self) -> None:
        self.client.refresh()

    def close(self) -> None:
        self.client.close()

    def step(self) -> None:
        kind = self.rng.choice(self.choices)
        call_slot = self.client.call_slot
        if kind == "read" and self.acked:
            key = self.rng.choice(self.acked)
            slot = key_slot(key.encode())
            self.attempt("read", key, None, lambda: call_slot(slot, "GET", key))
        elif kind == "incr":
            key, slot = counter_key(self.run_id, self.rng.randrange(self.counters))
            self.attempt("incr", key, None, lambda: call_slot(slot, "INCR", key))
        else:
            key, slot = write_key(self.run_id, self.user, self.seq)
            value = write_value(self.user, self.seq)
            self.seq += 1
            if self.attempt("write", key, value, lambda: call_slot(slot, "SET", key, value), keep_value=True) == OK:
                self.acked.append(key)
                if len(self.acked) > 64:
                    del self.acked[:32]
