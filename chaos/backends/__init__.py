"""How a node process lives: local processes, or Docker containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.backends.base import NodeSpec, NodeStatus
from chaos.backends.process import ProcessBackend
from chaos.errors import ChaosError

BACKENDS = ("process", "docker")


def make_backend(name: str, state_path: Path) -> Any:
    """A backend by name: ``process`` (local binaries) or ``docker`` (containers, host network)."""
    if name == "process":
        return ProcessBackend(state_path)
    if name == "docker":
        from chaos.backends.docker import DockerBackend

        return DockerBackend(state_path)
    raise ChaosError(f"unknown backend {name!r}; use one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "NodeSpec", "NodeStatus", "ProcessBackend", "make_backend"]
