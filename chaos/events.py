"""The run's events, typed in the style of Locust's ``Events``: one attribute per event, each an
:class:`EventHook` with its documented arguments. The run fires them; side outputs (progress,
Prometheus, report writers) listen. A misspelt event is an AttributeError where it is written,
not a silence; a listener's exception is reported once and never stops the run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Listener = Callable[..., None]


class EventHook:
    """One event: ``add_listener(fn)``, ``fire(**arguments)``; ``arguments`` documents them."""

    def __init__(self, name: str, arguments: str):
        self.name, self.arguments = name, arguments
        self._listeners: list[Listener] = []
        self._broken: set[int] = set()

    def add_listener(self, listener: Listener) -> Listener:
        self._listeners.append(listener)
        return listener

    def fire(self, **data: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(**data)
            except Exception as exc:  # side outputs never break the control path
                if id(listener) not in self._broken:
                    self._broken.add(id(listener))
                    print(f"chaos: warning: listener for {self.name!r} failed: {exc!r}", file=sys.stderr)


class RunEvents:
    """Every event a run fires."""

    def __init__(self) -> None:
        self.say = EventHook("say", "elapsed (run seconds), message: a line for people")
        self.second = EventHook("second", "t, ok, fail, info, p50, p99 (ms or None), buckets (latency histogram "
                                "counts), sum_ms, redirect counts: the load's last second")
        self.sample = EventHook("sample", "node, up, time, role, cluster_state, ...: a Redis node's probe sample")
        self.mysql_sample = EventHook("mysql_sample", "node, up, heartbeat_lag, seconds_behind_master, ...: a "
                                      "MySQL replica's probe sample")
        self.measurement = EventHook("measurement", "name (as in result.json's measurements), value: a "
                                     "measurement known before the run ends (failover at promotion, catch-up, ...)")
        self.fault = EventHook("fault", "fault (its kind), active: a fault began (True) or was healed (False)")
