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
