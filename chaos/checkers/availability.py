"""Availability: per group of keys (a master's slots, a table), the windows with no successful
operation, the longest one, the first failure and the first success after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.history import OK, Op


class AvailabilityChecker:
    """``group`` maps an operation to its group name (or None to ignore it); ``fs`` limits the
    check to some operation kinds (e.g. only writes). Windows shorter than ``min_window`` seconds
    are ordinary gaps between requests and are not listed (they still count for ``longest``)."""

    def __init__(self, group: Callable[[Op], str | None], fs: tuple[str, ...] | None = None,
                 min_window: float = 0.25):
        self.group, self.fs, self.min_window = group, fs, min_window
        self.state: dict[str, dict[str, Any]] = {}

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if self.fs is not None and invoke.f not in self.fs:
            return
        name = self.group(invoke)
        if name is None:
            return
        s = self.state.get(name)
        if s is None:
            s = self.state[name] = {"last_ok": None, "first_op": invoke.time, "ok": 0, "failed": 0,
                                    "first_failure": None, "first_success_after": None,
                                    "longest": 0.0, "longest_window": None, "windows": []}
        if completion is not None and completion.type == OK:
            s["ok"] += 1
            # an op that started after the last acknowledged one and succeeded closes the gap
            last = s["last_ok"] if s["last_ok"] is not None else s["first_op"]
            gap = completion.time - last
            if gap > s["longest"]:
                s["longest"], s["longest_window"] = gap, [round(last, 6), round(completion.time, 6)]
            if gap >= self.min_window:
                s["windows"].append([round(last, 6), round(completion.time, 6)])
            if s["first_failure"] is not None and s["first_success_after"] is None:
                s["first_success_after"] = completion.time
            if s["last_ok"] is None or completion.time > s["last_ok"]:
                s["last_ok"] = completion.time
        else:
            s["failed"] += 1
            if s["first_failure"] is None:
                s["first_failure"] = completion.time if completion is not None else invoke.time

    def result(self) -> dict[str, Any]:
        out = {}
        for name, s in sorted(self.state.items()):
            out[name] = {
                "ok": s["ok"], "failed": s["failed"],
                "longest_unavailable_seconds": round(s["longest"], 6),
                "longest_window": s["longest_window"],
                "windows": s["windows"],
                "first_failure": s["first_failure"],
                "first_success_after_failure": s["first_success_after"],
            }
        return out
