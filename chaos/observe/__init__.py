"""Probes sampling the system under test into the timeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator


def paced(interval: float, stop: threading.Event) -> Iterator[None]:
    """Yield once per ``interval`` on a fixed schedule (no drift) until ``stop`` is set; after an
    overrun the schedule restarts from now instead of bursting to catch up."""
    next_at = time.monotonic()
    while not stop.is_set():
        yield
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()
