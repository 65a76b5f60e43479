"""How a node process lives: local processes now, Docker containers later."""

from chaos.backends.base import NodeSpec, NodeStatus
from chaos.backends.process import ProcessBackend

__all__ = ["NodeSpec", "NodeStatus", "ProcessBackend"]
