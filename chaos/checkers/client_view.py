"""What one client library's history says about the application's experience of a fault (the
client view): how long its calls took and how many blocked, which errors reached it, and whether
each of its workers recovered after the promotion.

Fed (invoke, completion) pairs of one client's history (see :func:`chaos.history.pair`); a call
still open when the history ends (completion None) is one the application was still waiting for.
Times are the run's seconds; the result gives them relative to the fault."""

from __future__ import annotations

import re
from typing import Any

from chaos.history import OK, Op

BLOCKED = (1.0, 5.0, 30.0)  # "calls blocked longer than" thresholds, seconds
LATE = 5.0  # a worker without a success this long after the promotion (or the fault) is "still failing"


class _Worker:
    __slots__ = ("first_ok_after", "last_failure", "last_ok", "last_error", "failures_after_fault")

    def __init__(self) -> None:
        self.first_ok_after: float | None = None  # first acknowledged call completed after the promotion
        self.last_failure: float | None = None
        self.last_ok: float | None = None
        self.last_error: str | None = None
        self.failures_after_fault = 0


class ClientViewChecker:
    """``fault_t``: when the fault was injected; ``promoted_t``: when a replica took over (None: no
    promotion, recovery is measured from the fault)."""

    def __init__(self, fault_t: float | None, promoted_t: float | None = None):
        self.fault_t, self.promoted_t = fault_t, promoted_t
        self.calls = 0
        self.longest = 0.0
        self.longest_call: dict[str, Any] | None = None
        self.blocked = dict.fromkeys(BLOCKED, 0)
        self.open: list[Op] = []
        self.errors: dict[str, dict[str, Any]] = {}
        self.workers: dict[Any, _Worker] = {}
        self.end = float("-inf")

    def feed(self, invoke: Op, completion: Op | None) -> None:
        if invoke.process == "nemesis":
            return
        self.calls += 1
        w = self.workers.get(invoke.process)
        if w is None:
            w = self.workers[invoke.process] = _Worker()
        if invoke.time > self.end:
            self.end = invoke.time
        if completion is None:
            self.open.append(invoke)
            return
        t = completion.time
        if t > self.end:
            self.end = t
        took = t - invoke.time
        for limit in BLOCKED:
            if took > limit:
                self.blocked[limit] += 1
        if took > self.longest:
            self.longest = took
            self.longest_call = {"seconds": round(took, 6), "f": invoke.f, "started": round(invoke.time, 6),
                                 "outcome": completion.type, "error": completion.error}
        since = self.promoted_t if self.promoted_t is not None else self.fault_t
        if completion.type == OK:
            w.last_ok = t
            if since is not None and t >= since and w.first_ok_after is None:
                w.first_ok_after = t
            return
        w.last_failure, w.last_error = t, completion.error
        if self.fault_t is not None and t >= self.fault_t:
            w.failures_after_fault += 1
        name = error_class(completion.error)
        e = self.errors.get(name)
        if e is None:
            e = self.errors[name] = {"count": 0, "first": t, "last": t, "example": (completion.error or "")[:200]}
        e["count"] += 1
        e["last"] = max(e["last"], t)

    def result(self) -> dict[str, Any]:
        rel = self.fault_t or 0.0
        since = self.promoted_t if self.promoted_t is not None else self.fault_t
        open_ages = [self.end - op.time for op in self.open]
        # an open call counts as blocked for as long as it had been waiting when the history ended
        blocked = {f"over_{limit:g}s": n + sum(1 for a in open_ages if a > limit) for limit, n in self.blocked.items()}
        longest = max([self.longest, *open_ages])
        recovery = []
        still_failing = []
        for process, w in sorted(self.workers.items(), key=lambda kv: str(kv[0])):
            if w.first_ok_after is not None and since is not None:
                recovery.append(w.first_ok_after - since)
            failing = (w.last_failure is not None and (w.last_ok is None or w.last_failure > w.last_ok)) or \
                any(op.process == process for op in self.open)
            if failing:
                still_failing.append({"worker": process, "last_error": w.last_error})
        recovery.sort()
        late = [{"worker": p, "last_error": w.last_error} for p, w in sorted(self.workers.items(), key=lambda kv: str(kv[0]))
                if since is not None and (w.first_ok_after is None or w.first_ok_after - since > LATE)]
        return {
            "calls": self.calls,
            "longest_call_seconds": round(longest, 6),
            "longest_call": self.longest_call if self.longest >= max(open_ages, default=0.0) else
            {"seconds": round(longest, 6), "open_at_end": True},
            "blocked_calls": blocked,
            "open_at_end": len(self.open),
            "errors": {name: {**e, "first": round(e["first"] - rel, 6), "last": round(e["last"] - rel, 6)}
                       for name, e in sorted(self.errors.items(), key=lambda kv: -kv[1]["count"])},
            "errors_total": sum(e["count"] for e in self.errors.values()),
            "workers": len(self.workers),
            "recovery_seconds": {"median": round(recovery[len(recovery) // 2], 6) if recovery else None,
                                 "max": round(recovery[-1], 6) if recovery else None,
                                 "recovered": len(recovery)},
            "all_recovered": bool(self.workers) and not still_failing,
            f"failing_{LATE:g}s_after": late,  # no success yet 5 s after the promotion, with their last error
            "still_failing": still_failing,
        }


GENERIC = {"Error", "Exception", "RuntimeError"}  # classes that say nothing without their message


def error_class(error: str | None) -> str:
    """``ConnectionError: Error 111 …`` → ``ConnectionError``; a generic class keeps the gist
    of its message, numbers dropped (``Error: Connection is closed.`` → ``Error (Connection is
    closed.)``), so different failures are not counted as one."""
    if not error:
        return "unknown"
    head, _, message = error.partition(":")
    head = head.strip()
    if not head or " " in head:
        return "unknown"
    if head in GENERIC:
        gist = re.sub(r"\d+", "N", message.strip())[:80]
        return f"{head} ({gist})" if gist else head
    return head
