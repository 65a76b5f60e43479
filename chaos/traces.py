"""What a fault can leave in the operating system after a harness dies (a firewall rule, ...):
a small protocol each fault kind registers, walked by `chaos down` (:mod:`chaos.down`) and
`chaos status`.

A :class:`TraceKind` has three parts: ``record`` (before the fault acts: into state.json, under
the kind's own key), ``find`` (what the system still holds, found by the harness's mark alone,
so a lost state.json is no obstacle) and ``clean`` (remove items, idempotent, and forget them).
A new fault that leaves another trace registers one more kind next to its code; nothing in
`chaos down` changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chaos.state import StateDir


@dataclass(frozen=True)
class TraceKind:
    name: str  # for people: "firewall rule"
    key: str  # its list in state.json
    find: Callable[[StateDir], list[Any]]
    remove: Callable[[Any], None]  # one item, idempotent
    describe: Callable[[Any], str]

    def record(self, state: StateDir, items: list[Any]) -> None:
        """Remember ``items`` in state.json before they exist (crash-only: a kill right after
        the fault leaves them recorded)."""
        data = state.load()
        known = data.setdefault(self.key, [])
        known += [i for i in items if i not in known]
        state.save(data)

    def recorded(self, state: StateDir) -> list[Any]:
        return list(state.load().get(self.key) or [])

    def clean(self, state: StateDir, items: list[Any]) -> list[str]:
        """Remove ``items`` and forget them; returns their descriptions."""
        for item in items:
            self.remove(item)
        data = state.load()
        kept = [i for i in data.get(self.key) or [] if i not in items]
        if kept != (data.get(self.key) or []):
            data[self.key] = kept
            state.save(data)
        return [f"{self.name} {self.describe(i)}" for i in items]


_KINDS: dict[str, TraceKind] = {}


def register(kind: TraceKind) -> TraceKind:
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[TraceKind]:
    """Every registered trace kind (a fault module registers its own when imported; importing
    :mod:`chaos.faults` imports them all, as :mod:`chaos.leftovers` does)."""
    return list(_KINDS.values())
