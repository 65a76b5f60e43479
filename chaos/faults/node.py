"""Faults of one node's process, through its backend (process: signals; docker: the engine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.backends.base import NodeStatus
from chaos.faults.base import Fault


class Kill(Fault):
    """SIGKILL (``docker kill``); the heal starts it again with its data (``after_start`` runs
    then, e.g. to record the new pid)."""

    name, heal_name = "kill", "restart"

    def __init__(self, backend: Any, node: str, ready_timeout: float = 10.0,
                 after_start: Callable[[], None] | None = None, detail: str = ""):
        self.backend, self.target, self.ready_timeout = backend, node, ready_timeout
        self.after_start, self.detail = after_start, detail

    def inject(self) -> None:
        self.backend.kill(self.target)

    def heal(self) -> None:
        if self.backend.status(self.target) == NodeStatus.STOPPED:
            self.backend.restart(self.target, ready_timeout=self.ready_timeout)
            if self.after_start is not None:
                self.after_start()

    def describe(self) -> str:
        return f"killed {self.target}{self.detail}"

    def describe_heal(self) -> str:
        return f"restarted {self.target} with its data"


class Stop(Kill):
    """Graceful shutdown (SIGTERM, ``docker stop``); healed like a kill: started again."""

    name = "stop"

    def __init__(self, backend: Any, node: str, timeout: float = 60.0, **kwargs: Any):
        super().__init__(backend, node, **kwargs)
        self.timeout = timeout

    def inject(self) -> None:
        self.backend.stop(self.target, timeout=self.timeout)

    def describe(self) -> str:
        return f"stopped {self.target}{self.detail}"


class Pause(Fault):
    """SIGSTOP (``docker pause``): the process is frozen with its connections open; the heal
    is SIGCONT (``docker unpause``)."""

    name, heal_name = "pause", "resume"

    def __init__(self, backend: Any, node: str, detail: str = ""):
        self.backend, self.target, self.detail = backend, node, detail

    def inject(self) -> None:
        self.backend.pause(self.target)

    def heal(self) -> None:
        if self.backend.status(self.target) == NodeStatus.PAUSED:
            self.backend.resume(self.target)

    def describe(self) -> str:
        return f"paused {self.target}{self.detail}"

    def describe_heal(self) -> str:
        return f"resumed {self.target}"
