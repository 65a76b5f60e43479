"""Service-level objectives: ``--slo 'failover_seconds<=10'`` → a check on a measurement."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from chaos.errors import ChaosError

OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
       "<": operator.lt, ">": operator.gt}
SLO = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|!=|<|>)\s*(-?[\d.]+(?:e-?\d+)?)\s*$")


@dataclass(frozen=True)
class Slo:
    name: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.threshold:g}"

    def check(self, measurements: dict[str, Any]) -> dict[str, Any]:
        """pass / fail; ``unknown`` when the measurement is missing because measuring it failed."""
        threshold = f"{self.op}{self.threshold:g}"
        if not has(measurements, self.name) and measurements.get("measurement_errors"):
            errors = "; ".join(f"{k}: {v}" for k, v in measurements["measurement_errors"].items())
            return {"name": str(self), "status": "unknown", "passed": False, "value": None, "threshold": threshold,
                    "error": f"{self.name} unknown ({errors})"}
        value = lookup(measurements, self.name)
        passed = isinstance(value, int | float) and not isinstance(value, bool) \
            and OPS[self.op](value, self.threshold)
        return {"name": str(self), "status": "pass" if passed else "fail", "passed": bool(passed), "value": value,
                "threshold": threshold}


def parse_slo(text: str, known: set[str] | None = None) -> Slo:
    m = SLO.match(text)
    if not m:
        raise ChaosError(f"cannot read --slo {text!r}; write it as NAME OP NUMBER, e.g. 'failover_seconds<=10' "
                         f"(operators: {' '.join(OPS)})")
    name = m.group(1)
    if known is not None and name not in known:
        raise ChaosError(f"--slo {text!r}: unknown measurement {name!r}; known: {', '.join(sorted(known))}")
    return Slo(name, m.group(2), float(m.group(3)))


def lookup(measurements: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """``measurements["a"]["b"]`` for ``"a.b"``; ``default`` when a part is missing."""
    value: Any = measurements
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


_ABSENT = object()


def has(measurements: dict[str, Any], dotted: str) -> bool:
    return lookup(measurements, dotted, _ABSENT) is not _ABSENT
