"""What every recording load user shares: one attempt = one recorded operation.

An attempt records its ``invoke``, runs the command once, classifies the outcome (``ok``;
``fail``: certainly not applied; ``info``: maybe applied), records the completion, reports it
to the load process's listeners, and after a failure backs off (5 ms doubling to 100 ms) and
lets the workload recover (refresh a slot map, reconnect) before its next attempt."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chaos.history import INFO, INVOKE, OK, HistoryWriter

BACKOFF_MIN, BACKOFF_MAX = 0.005, 0.1

# (operation kind, outcome, response time ms, error or None) → None
Report = Callable[[str, str, float, str | None], None]


class Drain:
    """Process-wide: how many attempts are in flight, and whether new ones may start. On stop the
    load process sets ``stopping`` and waits for ``in_flight`` to reach 0, so the history ends
    with completions rather than operations cut off mid-flight (which would read as ``info``)."""

    in_flight = 0
    stopping = False


class RecordingWorkload:
    def __init__(self, user: int, history: HistoryWriter, report: Report,
                 sleep: Callable[[float], None] = time.sleep):
        self.user, self.history, self.report, self.sleep = user, history, report, sleep
        self.failures = 0

    def classify(self, exc: Exception) -> tuple[str, str | None, str] | None:
        """An exception of one attempt → (fail|info, node or None, error text); None when the
        workload does not know it, which is recorded as ``info`` (it may have been applied)."""
        return None

    def recover(self) -> None:
        """Called after a failed attempt, before the back-off."""

    def close(self) -> None:
        """Release connections when the user stops."""

    def attempt(self, f: str, key: str, value: Any, call: Callable[[], tuple[str | None, Any]],
                keep_value: bool = False) -> str:
        """Run ``call`` once (it returns (node, reply)); record invoke and completion. For
        reads and increments the completion's value is the reply; for writes (``keep_value``)
        it is the value written."""
        if Drain.stopping:
            self.sleep(0.05)
            return "skipped"
        record = self.history.record
        Drain.in_flight += 1
        started = time.monotonic()
        record(INVOKE, self.user, f, key, value, at=started)
        node = error = None
        outcome = INFO  # whatever happens below, the attempt is completed (Jepsen: an exception is :info)
        try:
            node, reply = call()
            if not keep_value:
                value = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
            outcome = OK
        except Exception as exc:
            known = self.classify(exc)
            if known is None:
                error = f"unexpected {type(exc).__name__}: {exc}"
            else:
                outcome, node, error = known
        except BaseException as exc:  # the user is being killed mid-attempt: still completed
            error = f"interrupted: {type(exc).__name__}"
            raise
        finally:
            finished = time.monotonic()
            record(outcome, self.user, f, key, value, node, error, at=finished)
            Drain.in_flight -= 1
        self.report(f, outcome, (finished - started) * 1000.0, error)
        if outcome == OK:
            self.failures = 0
        else:
            self.failures += 1
            try:
                self.recover()
            except Exception:  # recovery is best effort; the next attempt records what happens
                pass
            self.sleep(min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (self.failures - 1)))
        return outcome
