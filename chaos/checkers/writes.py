"""Lost writes (Jepsen's set checker) and counters (antirez's consistency test).

Writes go to unique keys. Given the final read (key → value found, or None):

* ``lost`` = acknowledged (``ok``) writes whose key is missing or holds another value;
* ``recovered`` = indeterminate (``info``) writes that turned up: they happened;
* ``failed_applied`` = writes the client saw ``fail`` for that turned up anyway (a bug in the
  system or in the error classification: reported, never silently accepted);
* ``unacked_applied`` = recovered + failed_applied;
* ``never_acked`` = writes not acknowledged that are absent (as expected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.history import FAIL, INFO, OK, Op

SAMPLE = 20
BATCH = 5000

# the final read of a batch of keys: their values in the same order (None when absent)
ReadBatch = Callable[[list[str]], list[Any]]


def reader_of(final: Mapping[str, Any]) -> ReadBatch:
    """A :data:`ReadBatch` over a final read already in memory (tests, benchmarks)."""
    return lambda keys: [final.get(k) for k in keys]


class WriteSetChecker:
    """Fed every write's (invoke, completion), it checks each against the final read as the
    history passes: writes are buffered ``batch`` at a time and their keys read through ``read``,
    so memory stays flat however many writes a run made (a key is written once: the workloads
    derive unique keys). :meth:`result` checks the last batch."""

    def __init__(self, read: ReadBatch, f: str = "write", batch: int = BATCH):
        self.read, self.f, self.batch = read, f, batch
        self.pending: list[tuple[str, Any, str]] = []  # (key, value written, outcome)
        self.counts = {OK: 0, FAIL: 0, INFO: 0}
        self.lost: list[str] = []
        self.recovered = 0
        self.failed_applied: list[str] = []

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if invoke.f != self.f:
            return
        outcome = INFO if completion is None else completion.type
        self.pending.append((invoke.key, invoke.value, outcome))  # type: ignore[arg-type]
        if len(self.pending) >= self.batch:
            self.check()

    def check(self) -> None:
        """Read the buffered writes' keys and judge each write."""
        if not self.pending:
            return
        found = self.read([key for key, _, _ in self.pending])
        for (key, value, outcome), now in zip(self.pending, found, strict=True):
            self.counts[outcome] += 1
            if outcome == OK:
                if now != value:
                    self.lost.append(key)
            elif now is not None:
                if outcome == FAIL:
                    self.failed_applied.append(key)
                else:
                    self.recovered += 1
        self.pending.clear()

    def result(self) -> dict[str, Any]:
        self.check()
        acked, failed, unknown = self.counts[OK], self.counts[FAIL], self.counts[INFO]
        lost, failed_applied = sorted(self.lost), sorted(self.failed_applied)
        return {
            "attempted": acked + failed + unknown,
            "acknowledged": acked,
            "failed": failed,
            "indeterminate": unknown,
            "lost": len(lost),
            "recovered": self.recovered,
            "failed_applied": len(failed_applied),
            "unacked_applied": self.recovered + len(failed_applied),
            "never_acked": failed + unknown - self.recovered - len(failed_applied),
            "lost_sample": lost[:SAMPLE],
            "lost_keys": lost,
            "failed_applied_sample": failed_applied[:SAMPLE],
        }


@dataclass
class _Counter:
    acked: int = 0
    failed: int = 0
    unknown: int = 0
    keys: list[str] = field(default_factory=list)


class CounterChecker:
    """Increments: the client knows what each counter must hold.

    With ``a`` acknowledged, ``u`` indeterminate increments and final value ``v``:
    ``lost = max(0, a - v)``; ``unacked_applied = max(0, v - a)``, of which anything above
    ``u`` was applied although the client was told it failed."""

    def __init__(self, f: str = "incr"):
        self.f = f
        self.counters: dict[str, _Counter] = {}

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if invoke.f != self.f or invoke.key is None:
            return
        c = self.counters.get(invoke.key)
        if c is None:
            c = self.counters[invoke.key] = _Counter()
        if completion is None or completion.type == INFO:
            c.unknown += 1
        elif completion.type == OK:
            c.acked += 1
        else:
            c.failed += 1

    def result(self, final: Mapping[str, Any]) -> dict[str, Any]:
        lost = unacked = failed_applied = 0
        per_key = {}
        for key, c in sorted(self.counters.items()):
            value = int(final.get(key) or 0)
            lost += max(0, c.acked - value)
            unacked += max(0, value - c.acked)
            failed_applied += max(0, value - c.acked - c.unknown)
            per_key[key] = {"acked": c.acked, "indeterminate": c.unknown, "failed": c.failed, "final": value}
        return {
            "counters": len(self.counters),
            "acknowledged_increments": sum(c.acked for c in self.counters.values()),
            "lost_increments": lost,
            "unacked_applied_increments": unacked,
            "failed_applied_increments": failed_applied,
            "per_key": per_key,
        }
