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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.history import FAIL, INFO, OK, Op

SAMPLE = 20


class WriteSetChecker:
    def __init__(self, f: str = "write"):
        self.f = f
        self.acked: dict[str, Any] = {}
        self.failed: set[str] = set()
        self.unknown: set[str] = set()

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if invoke.f != self.f:
            return
        key = invoke.key
        if completion is None or completion.type == INFO:
            self.unknown.add(key)
        elif completion.type == OK:
            self.acked[key] = invoke.value
        elif completion.type == FAIL:
            self.failed.add(key)

    def attempted_keys(self) -> set[str]:
        return set(self.acked) | self.failed | self.unknown

    def result(self, final: Mapping[str, Any]) -> dict[str, Any]:
        lost = [k for k, v in self.acked.items() if final.get(k) != v]
        recovered = [k for k in self.unknown if final.get(k) is not None]
        failed_applied = [k for k in self.failed if final.get(k) is not None]
        return {
            "attempted": len(self.acked) + len(self.failed) + len(self.unknown),
            "acknowledged": len(self.acked),
            "failed": len(self.failed),
            "indeterminate": len(self.unknown),
            "lost": len(lost),
            "recovered": len(recovered),
            "failed_applied": len(failed_applied),
            "unacked_applied": len(recovered) + len(failed_applied),
            "never_acked": len(self.failed) + len(self.unknown) - len(recovered) - len(failed_applied),
            "lost_sample": sorted(lost)[:SAMPLE],
            "lost_keys": sorted(lost),
            "failed_applied_sample": sorted(failed_applied)[:SAMPLE],
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
        if invoke.f != self.f:
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
