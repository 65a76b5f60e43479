"""Named checks, composed (Jepsen's ``checker/compose`` and ``check-safe``).

A plan's measurements come from named parts (:func:`measure_parts`); a part that raises leaves
its measurements out and its error in ``measurement_errors``. A :class:`Check` judges one
measurement; when that measurement is missing (its part raised) or the predicate itself raises,
the check is ``unknown``, which never passes. Pure: no network, no clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chaos.slo import lookup

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
_MISSING = object()


@dataclass(frozen=True)
class Check:
    """``name`` judges ``measurement`` (dotted path into the measurements) with ``passes``.
    A user's ``--slo`` on the same measurement replaces this check."""

    name: str
    measurement: str
    passes: Callable[[Any], bool]
    threshold: str | None = None
    shown: Callable[[Any], Any] | None = None  # what the result shows as value (default: the measurement)


def result(name: str, status: str, value: Any, threshold: str | None, error: str | None = None) -> dict[str, Any]:
    out = {"name": name, "status": status, "passed": status == PASS, "value": value, "threshold": threshold}
    if error:
        out["error"] = error
    return out


def evaluate(checks: list[Check], measurements: dict[str, Any]) -> list[dict[str, Any]]:
    """Each check against the measurements; missing or raising → ``unknown``."""
    errors = measurements.get("measurement_errors") or {}
    out = []
    for check in checks:
        value = lookup(measurements, check.measurement, _MISSING)
        if value is _MISSING:
            why = "; ".join(f"{k}: {v}" for k, v in errors.items()) or "not measured"
            out.append(result(check.name, UNKNOWN, None, check.threshold, f"{check.measurement} unknown ({why})"))
            continue
        try:
            passed = bool(check.passes(value))
            shown = check.shown(value) if check.shown is not None else value
        except Exception as exc:  # a broken checker never passes a run
            out.append(result(check.name, UNKNOWN, None, check.threshold, f"{type(exc).__name__}: {exc}"))
            continue
        out.append(result(check.name, PASS if passed else FAIL, shown, check.threshold))
    return out


def measure_parts(parts: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]]) -> dict[str, Any]:
    """Run named measurement parts in order, each given the measurements so far; a part that
    raises adds nothing but its error (under ``measurement_errors``)."""
    measurements: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, part in parts:
        try:
            measurements.update(part(measurements))
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
    if errors:
        measurements["measurement_errors"] = errors
    return measurements


__all__ = ["Check", "FAIL", "PASS", "UNKNOWN", "evaluate", "lookup", "measure_parts", "result"]
