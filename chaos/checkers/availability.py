"""Availability: per group of keys (a master's slots, a table), the windows with no successful
operation, the longest one, the first failure and the first success after it.

A window still open when the history ends (operations of the group kept failing until the load
stopped) counts up to the last operation of the history, and the result says it never closed
(``unavailable_at_end``)."""

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
        self.end = float("-inf")  # the last moment of the history the checker saw

    def feed(self, invoke: Op, completion: Op | None) -> None:
        t = completion.time if completion is not None else invoke.time
        if t > self.end:
            self.end = t
        if self.fs is not None and invoke.f not in self.fs:
            return
        name = self.group(invoke)
        if name is None:
            return
        s = self.state.get(name)
        if s is None:
            s = self.state[name] = {"last_ok": None, "first_op": invoke.time, "ok": 0, "failed": 0,
                                    "first_failure": None, "first_success_after": None,
                                    "longest": 0.0, "longest_window": None, "windows": [],
                                    "failed_since_ok": False}
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
                s["failed_since_ok"] = False
        else:
            s["failed"] += 1
            s["failed_since_ok"] = True
            if s["first_failure"] is None:
                s["first_failure"] = completion.time if completion is not None else invoke.time

    def result(self) -> dict[str, Any]:
        out = {}
        for name, s in sorted(self.state.items()):
            longest, longest_window, windows = s["longest"], s["longest_window"], list(s["windows"])
            open_at_end = s["failed_since_ok"]
            if open_at_end:  # failing until the end: the window never closed
                last = s["last_ok"] if s["last_ok"] is not None else s["first_op"]
                gap = self.end - last
                if gap >= self.min_window:
                    windows.append([round(last, 6), round(self.end, 6)])
                if gap > longest:
                    longest, longest_window = gap, [round(last, 6), round(self.end, 6)]
            out[name] = {
                "ok": s["ok"], "failed": s["failed"],
                "longest_unavailable_seconds": round(longest, 6),
                "longest_window": longest_window,
                "unavailable_at_end": open_at_end,
                "windows": windows,
                "first_failure": s["first_failure"],
                "first_success_after_failure": s["first_success_after"],
            }
        return out
