"""Latency percentiles per phase of the run (ms), from invoke → completion times."""

from __future__ import annotations

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
            ordered = numpy.sort(numpy.frombuffer(values, dtype=numpy.float64)) if len(values) else ()
            out[name] = {
                "count": len(ordered),
                **{k: (round(float(v), 3) if v is not None else None)
                   for k, v in (("p50", percentile(ordered, 0.50)), ("p95", percentile(ordered, 0.95)),
                                ("p99", percentile(ordered, 0.99)), ("p999", percentile(ordered, 0.999)),
                                ("max", ordered[-1] if len(ordered) else None))},
            }
        return out
