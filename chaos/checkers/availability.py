"""Availability: per group of keys (a master's slots, a table), the windows with no successful
operation, the longest one, the first failure and the first success after it.

A window still open when the history ends (operations of the group kept failing until the load
stopped) counts up to the last operation of the history, and the result says it never closed
(``unavailable_at_end``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.history import OK, Op


class _Group:
    __slots__ = ("last_ok", "first_op", "ok", "failed", "first_failure", "first_success_after",
                 "longest", "longest_window", "windows", "failed_since_ok")

    def __init__(self, first_op: float):
        self.last_ok: float | None = None
        self.first_op = first_op
        self.ok = self.failed = 0
        self.first_failure: float | None = None
        self.first_success_after: float | None = None
        self.longest = 0.0
        self.longest_window: list[float] | None = None
        self.windows: list[list[float]] = []
        self.failed_since_ok = False


class AvailabilityChecker:
    """``group`` maps an operation to its group name (or None to ignore it); ``fs`` limits the
    check to some operation kinds (e.g. only writes). Windows shorter than ``min_window`` seconds
    are ordinary gaps between requests and are not listed (they still count for ``longest``)."""

    def __init__(self, group: Callable[[Op], str | None], fs: tuple[str, ...] | None = None,
                 min_window: float = 0.25):
        self.group, self.fs, self.min_window = group, fs, min_window
        self.state: dict[str, _Group] = {}
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
            s = self.state[name] = _Group(invoke.time)
        if completion is not None and completion.type == OK:
            s.ok += 1
            # an op that started after the last acknowledged one and succeeded closes the gap
            last = s.last_ok if s.last_ok is not None else s.first_op
            gap = t - last
            if gap > s.longest:
                s.longest, s.longest_window = gap, [round(last, 6), round(t, 6)]
            if gap >= self.min_window:
                s.windows.append([round(last, 6), round(t, 6)])
            if s.first_failure is not None and s.first_success_after is None:
                s.first_success_after = t
            if s.last_ok is None or t > s.last_ok:
                s.last_ok = t
                s.failed_since_ok = False
        else:
            s.failed += 1
            s.failed_since_ok = True
            if s.first_failure is None:
                s.first_failure = t

    def result(self) -> dict[str, Any]:
        out = {}
        for name, s in sorted(self.state.items()):
            longest, longest_window, windows = s.longest, s.longest_window, list(s.windows)
            open_at_end = s.failed_since_ok
            if open_at_end:  # failing until the end: the window never closed
                last = s.last_ok if s.last_ok is not None else s.first_op
                gap = self.end - last
                if gap >= self.min_window:
                    windows.append([round(last, 6), round(self.end, 6)])
                if gap > longest:
                    longest, longest_window = gap, [round(last, 6), round(self.end, 6)]
            out[name] = {
                "ok": s.ok, "failed": s.failed,
                "longest_unavailable_seconds": round(longest, 6),
                "longest_window": longest_window,
                "unavailable_at_end": open_at_end,
                "windows": windows,
                "first_failure": s.first_failure,
                "first_success_after_failure": s.first_success_after,
            }
        return out
