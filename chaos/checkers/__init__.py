"""Checkers: pure functions (no network, no clock, no files) over a history and a timeline.

Each checker is an accumulator fed one (invoke, completion) pair at a time, so one pass over a
history of millions of operations feeds them all with little memory; :func:`run` drives them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from chaos.history import Op, pair


class Accumulator(Protocol):
    def feed(self, invoke: Op, completion: Op | None) -> None: ...


def run(history: Iterable[Op], *checkers: Accumulator) -> None:
    """Feed every client operation of ``history`` to every checker (nemesis records skipped)."""
    feeds = [c.feed for c in checkers]
    for invoke, completion in pair(history):
        if invoke is completion:  # nemesis record
            continue
        for feed in feeds:
            feed(invoke, completion)
