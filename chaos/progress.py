"""Terminal output of a run: phase lines with elapsed time and a live ops/s line.
A listener on the run's event bus; never in the control path."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from chaos.events import RunEvents


class Progress:
    def __init__(self, stream: TextIO | None = None, every: int = 1):
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.every = every
        self._pending_live = False
        self._n = 0

    def listen(self, events: RunEvents) -> Progress:
        events.say.add_listener(self.on_say)
        events.second.add_listener(self.on_second)
        return self

    def _end_live(self) -> None:
        if self._pending_live:
            self.stream.write("\n")
            self._pending_live = False

    def on_say(self, elapsed: float, message: str, **_: Any) -> None:
        self._end_live()
        self.stream.write(f"[{elapsed:7.2f}s] {message}\n")
        self.stream.flush()

    def on_second(self, t: float, ok: int, fail: int, info: int, p50: float | None = None,
                  p99: float | None = None, **_: Any) -> None:
        self._n += 1
        total = ok + fail + info
        lat = f"p50 {p50:.2f} ms  p99 {p99:.2f} ms" if p50 is not None and p99 is not None else "no replies"
        line = f"[{t:7.2f}s] load: {total:6d} ops/s  ok {ok}  fail {fail}  info {info}  {lat}"
        if self.live:
            self.stream.write("\r\033[K" + line)
            self._pending_live = True
        elif self._n % self.every == 0 or fail or info:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._end_live()
