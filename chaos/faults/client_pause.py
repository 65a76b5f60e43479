"""CLIENT PAUSE WRITE on one Redis node: it holds every write command (reads go on) until the
heal (CLIENT UNPAUSE) or until the pause runs out. The README's "Add a fault" example."""

from __future__ import annotations

from typing import Any

from chaos.clients.resp import Connection
from chaos.faults.base import Fault


class ClientPause(Fault):
    name, heal_name = "client-pause", "client-unpause"

    def __init__(self, spec: Any, seconds: float):
        self.spec, self.seconds, self.target = spec, seconds, spec.name

    def _call(self, *args: Any) -> None:
        conn = Connection(self.spec.host, self.spec.port)
        try:
            conn.call(*args)
        finally:
            conn.close()

    def inject(self) -> None:
        self._call("CLIENT", "PAUSE", int(self.seconds * 1000), "WRITE")

    def heal(self) -> None:
        self._call("CLIENT", "UNPAUSE")

    def describe(self) -> str:
        return f"writes paused on {self.target} for up to {self.seconds:g} s"
