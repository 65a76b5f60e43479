"""Capacity planning from measurements (pure: numbers in, table out; unit-tested).

Inputs measured on this machine by :mod:`chaos.capacity_measure`: the per-master knee (the highest paced
rate one master served within the p99 bound, with < 0.1 % errors and ≥ 95 % of the offered
rate), the p99 at each measured rate, the memory a key takes, and the migration rate. The plan
is a projection of those rates to other master counts, and says so."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from chaos.errors import ChaosError
from chaos.topology.redis_info import SLOTS

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "k": 1024, "m": 1024**2, "g": 1024**3,
         "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text or "")
    if not m or m.group(2).lower() not in UNITS:
        raise ChaosError(f"--max-memory {text!r}: write a size such as 512mb, 2gb or 1073741824")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


SCALE_IN_RESERVE = 0.25  # of a node's memory kept for fork copy-on-write and buffers (FACTS.md)
SCALE_IN_FREE_FACTOR = 1.5  # free memory on the kept shards ≥ 1.5 × the memory of the removed one


@dataclass
class Step:
    """One load step: offered ops/s, achieved ok/s, p99 ms, error share, and whose CPU ran out."""

    offered: float
    achieved: float
    p99_ms: float | None
    errors: float
    generator_cpu: float | None = None  # cores used by the load processes
    server_cpu: float | None = None  # cores used by the server's main thread
    generator_cores: float = 1.0  # cores the load processes could use (one per process)
    passed: bool = True
    why: str = ""


@dataclass
class Measured:
    steps: list[Step]
    bytes_per_key: float
    keys_per_second: float | None  # migration rate
    bytes_per_second: float | None
    knee: float  # ops/s one master serves within the bounds
    knee_is_lower_bound: bool = False  # the load generator ran out first
    notes: list[str] = field(default_factory=list)
    usable: float | None = None  # ops/s per master at the CPU target (None: plan from knee × (1 − headroom))
    p99_points: list[tuple[float, float]] | None = None  # (ops/s, p99 ms) within the bound, for predictions
    cpu_points: list[tuple[float, float]] | None = None  # (ops/s, main-thread cores), for predictions


def judge_step(step: Step, p99_bound_ms: float, max_errors: float = 0.001, min_share: float = 0.95) -> Step:
    """Mark a step failed when its p99 exceeds the bound, errors exceed 0.1 % or it achieved
    less than 95 % of the offered rate."""
    reasons = []
    if step.p99_ms is None or step.p99_ms > p99_bound_ms:
        reasons.append(f"p99 {step.p99_ms} ms > {p99_bound_ms:g} ms")
    if step.errors > max_errors:
        reasons.append(f"errors {100 * step.errors:.2f} % > {100 * max_errors:g} %")
    if step.achieved < min_share * step.offered:
        reasons.append(f"achieved {step.achieved:.0f} < {100 * min_share:g} % of {step.offered:.0f} ops/s")
    step.passed, step.why = not reasons, "; ".join(reasons)
    return step


def knee_of(steps: list[Step]) -> tuple[float, bool]:
    """The highest achieved rate of a passing step before the first failing one, and whether it
    is only a lower bound of the server's knee: the server's main thread was not saturated (under
    0.9 of a core) when the step failed, so the limit was elsewhere (the load generator, or the
    cores the machine shares between load and server)."""
    knee, bound = 0.0, False
    for step in steps:
        if not step.passed:
            bound = (step.server_cpu or 0.0) < 0.9
            break
        knee = max(knee, step.achieved)
    else:
        bound = True  # never failed: the knee is above the last step
    return knee, bound


def predicted_p99(steps: list[Step], rate: float) -> float | None:
    """p99 at ``rate``, linearly interpolated between the measured passing steps; None beyond
    the last passing step (not measured, so not predicted)."""
    return interpolate(sorted((s.achieved, s.p99_ms) for s in steps if s.passed and s.p99_ms is not None), rate)


def interpolate(points: list[tuple[float, float]], rate: float) -> float | None:
    """y at ``rate`` between measured (rate, y) points; None beyond the last one."""
    points = sorted(points)
    if not points or rate > points[-1][0]:
        return None
    if rate <= points[0][0]:
        return points[0][1]
    for (r0, p0), (r1, p1) in zip(points, points[1:]):
        if r0 <= rate <= r1:
            return p0 + (p1 - p0) * (rate - r0) / (r1 - r0) if r1 > r0 else max(p0, p1)
    return None


def plan_rows(m: Measured, peak_ops: float, keys: int, masters: list[int], growth: float, headroom: float,
              memory_budget: float, current_masters: int | None = None) -> dict[str, Any]:
    """One row per master count, and the recommendation: the largest of the throughput bound,
    the memory bound and 3."""
    peak = peak_ops * (1 + growth)
    dataset = keys * m.bytes_per_key * (1 + growth)
    usable = memory_budget * (1 - SCALE_IN_RESERVE)
    capacity = m.usable if m.usable is not None else m.knee * (1 - headroom)  # ops/s a master may carry
    rows = []
    for count in sorted(set(masters)):
        per_master = peak / count
        memory = dataset / count
        share = per_master / m.knee if m.knee else None
        fits = bool(capacity) and per_master <= capacity and memory <= usable * (1 - headroom)
        # scaling in to `count` from count + 1: the removed master's memory must fit in the free
        # memory of the kept ones, with margin
        removed = dataset / (count + 1)
        free_after = count * usable - dataset
        from_count = current_masters if current_masters is not None else count - 1
        moved_keys = keys * (1 + growth) * abs(count - from_count) / max(count, from_count) if from_count else 0
        rows.append({
            "masters": count,
            "ops_per_master": round(per_master, 1),
            "share_of_knee": round(share, 3) if share is not None else None,
            "predicted_p99_ms": _round(interpolate(m.p99_points, per_master) if m.p99_points is not None
                                       else predicted_p99(m.steps, per_master)),
            "predicted_server_cpu": _round(interpolate(m.cpu_points, per_master)) if m.cpu_points else None,
            "memory_per_master_bytes": int(memory),
            "throughput_headroom": round(1 - share, 3) if share is not None else None,
            "memory_headroom": round(1 - memory / usable, 3) if usable else None,
            "fits": bool(fits),
            "scale_in_to_safe": bool(fits and free_after >= SCALE_IN_FREE_FACTOR * removed),
            "reshard_from": from_count,
            "slots_to_move": int(SLOTS * abs(count - from_count) / max(count, from_count)) if from_count else 0,
            "reshard_seconds": round(moved_keys / m.keys_per_second, 1) if m.keys_per_second and from_count else None,
        })
    throughput_bound = math.ceil(peak / capacity) if capacity else None
    memory_bound = math.ceil(dataset / (usable * (1 - headroom))) if usable else None
    # no recommendation from a knee that is not the server's: it would be a bound many times off
    recommended = None if m.knee_is_lower_bound and m.usable is not None else \
        max(x for x in (throughput_bound, memory_bound, 3) if x is not None)
    return {"rows": rows, "recommended_masters": recommended, "throughput_bound": throughput_bound,
            "capacity_per_master": round(capacity, 1) if capacity else None,
            "memory_bound": memory_bound, "peak_with_growth": peak, "dataset_bytes_with_growth": int(dataset)}


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None
