"""How many operations completed ok / fail / info, in all and per operation kind."""

from __future__ import annotations

from typing import Any

from chaos.history import Op

OUTCOMES = ("ok", "fail", "info")


class OpCounter:
    def __init__(self) -> None:
        self.by_f: dict[str, dict[str, int]] = {}

    def feed(self, invoke: Op, completion: Op | None) -> None:
        counts = self.by_f.get(invoke.f)
        if counts is None:
            counts = self.by_f[invoke.f] = dict.fromkeys(OUTCOMES, 0)
        counts[completion.type if completion is not None else "info"] += 1

    def result(self) -> dict[str, Any]:
        total = dict.fromkeys(OUTCOMES, 0)
        for counts in self.by_f.values():
            for k, v in counts.items():
                total[k] += v
        return {**total, "by_f": {f: dict(c) for f, c in sorted(self.by_f.items())}}


class WindowCounter:
    """Acknowledged ``f`` operations that completed within [start, end] (run seconds)."""

    def __init__(self, f: str, start: float, end: float):
        self.f, self.start, self.end = f, start, end
        self.count = 0

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if invoke.f == self.f and completion is not None and completion.type == "ok" \
                and self.start <= completion.time <= self.end:
            self.count += 1


class AckedBy:
    """(completion time, key) of every acknowledged ``f`` operation that ``node`` answered at or
    after ``since`` (run seconds): the writes a stale or isolated master took."""

    def __init__(self, node: str | None, since: float, f: str = "write"):
        self.node, self.since, self.f = node, since, f
        self.acked: list[tuple[float, str | None]] = []

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if completion is not None and completion.type == "ok" and invoke.f == self.f \
                and completion.node == self.node and completion.time >= self.since:
            self.acked.append((completion.time, invoke.key))

    def between(self, start: float, end: float | None) -> list[tuple[float, str | None]]:
        return [(t, k) for t, k in self.acked if t >= start and (end is None or t <= end)]
