"""A small event bus: the run fires events, side outputs (progress, Prometheus, report writers)
listen. A listener's exception is reported once and never stops the run."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Listener = Callable[..., None]


class EventBus:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._broken: set[int] = set()

    def on(self, event: str, listener: Listener) -> None:
        self._listeners[event].append(listener)

    def fire(self, event: str, **data: Any) -> None:
        for listener in list(self._listeners.get(event, ())):
            try:
                listener(**data)
            except Exception as exc:  # side outputs never break the control path
                if id(listener) not in self._broken:
                    self._broken.add(id(listener))
                    print(f"chaos: warning: listener for {event!r} failed: {exc!r}", file=sys.stderr)
