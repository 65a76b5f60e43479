"""Probes sampling the system under test into the timeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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


class FileSampler:
    """A daemon thread that runs ``_loop`` and appends JSON lines to ``path``: started once,
    stopped idempotently (the file closed after the thread ended)."""

    path: Path

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _loop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._out = open(self.path, "a", buffering=1 << 14)
        self._thread.start()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(5)
        self._out.close()


def close_quietly(conn: Any) -> None:
    """Close a connection that may already be broken."""
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
