"""Latency percentiles per phase of the run (ms), from invoke → completion times."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from typing import Any

import numpy

from chaos.history import OK, Op


def percentile(sorted_values: Any, q: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence; None when empty."""
    if not len(sorted_values):
        return None
    rank = max(1, int(-(-q * len(sorted_values) // 1)))  # ceil(q * n), at least 1
    return sorted_values[min(rank, len(sorted_values)) - 1]


class LatencyChecker:
    """``phases``: [(name, start_time)] in time order; an op belongs to the last phase that
    started at or before its invoke. Only acknowledged (``ok``) operations are measured."""

    def __init__(self, phases: list[tuple[str, float]] | None = None):
        self.phases = phases or [("run", float("-inf"))]
        self.starts = [start for _, start in self.phases]
        self.samples = [array("d") for _ in self.phases]

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if completion is None or completion.type != OK:
            return
        i = max(0, bisect_right(self.starts, invoke.time) - 1)
        self.samples[i].append((completion.time - invoke.time) * 1000.0)

    def result(self) -> dict[str, dict[str, Any]]:
        out = {}
        for (name, _), values in zip(self.phases, self.samples):
            # sorted as 8-byte doubles: a list of Python floats would take 4x the memory (a
            # 10-minute run acknowledges millions of operations)
            ordered: Any = numpy.sort(numpy.frombuffer(values, dtype=numpy.float64)) if len(values) else ()
            out[name] = {
                "count": len(ordered),
                **{k: (round(float(v), 3) if v is not None else None)
                   for k, v in (("p50", percentile(ordered, 0.50)), ("p95", percentile(ordered, 0.95)),
                                ("p99", percentile(ordered, 0.99)), ("p999", percentile(ordered, 0.999)),
                                ("max", ordered[-1] if len(ordered) else None))},
            }
        return out


class LatencySeries:
    """The latency chart's series, gathered in the checkers' pass: p50 / p99 / max of acknowledged
    operations per ``bucket`` seconds of completion time, and every failed or indeterminate
    operation as a (completion time, ms) dot. A bucket is summarised once completions are a
    second past it (a history is in completion order), so it holds about a second of latencies."""

    def __init__(self, bucket: float = 0.1):
        self.bucket = bucket
        self.slack = max(1, int(round(1.0 / bucket)))
        self.acked: dict[int, array] = {}
        self.rows: list[tuple[float, float, float, float]] = []  # (t, p50, p99, max)
        self.dots: dict[str, list[tuple[float, float]]] = {"fail": [], "info": []}

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if completion is not None:
            self.add(completion.type, completion.time, (completion.time - invoke.time) * 1000.0)

    def add(self, outcome: str, t: float, ms: float) -> None:
        """One completed operation: its outcome, completion time and latency (ms)."""
        if outcome != OK:
            self.dots[outcome].append((t, ms))
            return
        b = int(t / self.bucket)
        values = self.acked.get(b)
        if values is None:
            for old in sorted(k for k in self.acked if k < b - self.slack):
                self._summarise(old)
            values = self.acked[b] = array("d")
        values.append(ms)

    def _summarise(self, b: int) -> None:
        values = sorted(self.acked.pop(b))
        n = len(values)
        self.rows.append((b * self.bucket, values[n // 2], values[min(n - 1, math.ceil(0.99 * n) - 1)], values[-1]))

    def result(self) -> dict[str, Any]:
        """``t``, ``p50``, ``p99``, ``max`` (one entry per bucket with acknowledged operations, in
        time order) and the ``fail`` / ``info`` dots."""
        for b in sorted(self.acked):
            self._summarise(b)
        rows = sorted(self.rows, key=lambda r: r[0])  # a late bucket (out-of-order history) sorts in
        return {"t": [r[0] for r in rows], "p50": [r[1] for r in rows], "p99": [r[2] for r in rows],
                "max": [r[3] for r in rows], "fail": self.dots["fail"], "info": self.dots["info"]}
