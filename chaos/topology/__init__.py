"""What the nodes are: a Redis Cluster, a MySQL/MariaDB source→replica pair."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from chaos.backends import make_backend
from chaos.backends.base import NodeSpec, NodeStatus
from chaos.errors import NotUp
from chaos.state import StateDir

Say = Callable[[str], None]


def quiet(_: str) -> None:
    pass


class Topology:
    """What every topology shares: its record in state.json (backend, config, nodes and their
    handles) and finding it again from there. Subclasses set NAME and CONFIG."""

    NAME: str
    CONFIG: type
    state: StateDir
    config: Any
    backend: Any
    specs: list[NodeSpec]

    @classmethod
    def load(cls, state: StateDir, backend: Any = None) -> Any:
        """The topology the harness started, as ``state`` records it; raises :class:`NotUp` if
        there is none (an attachment is loaded by :func:`chaos.topology.kinds.load_topology`)."""
        record = state.topology(cls.NAME)
        if record is None:
            raise NotUp(f"no {cls.NAME} is up in {state.path}; start one with `chaos up {cls.NAME}`")
        if record.get("attached"):
            raise NotUp(f"{state.path} records an attachment to a {cls.NAME}, not one the harness started")
        topo = cls(state, cls.CONFIG(**record["config"]),
                   backend or make_backend(record.get("backend", "process"), state.path))
        topo.specs = [NodeSpec.from_dict(n["spec"]) for n in record["nodes"]]
        for node, spec in zip(record["nodes"], topo.specs, strict=True):
            topo.backend.adopt(spec, node.get("handle", node.get("pid")))
        return topo

    def __init__(self, state: StateDir, config: Any, backend: Any = None) -> None:
        raise NotImplementedError  # each kind builds its nodes

    STOP_TIMEOUT = 10.0  # seconds of a graceful stop before SIGKILL
    STOP_REPLICAS_FIRST = False  # stop nodes in reverse order (e.g. the replica before its source)

    def down(self) -> int:
        """Stop every node, remove the topology's files and its state; return how many ran."""
        stopped = 0
        for spec in reversed(self.specs) if self.STOP_REPLICAS_FIRST else self.specs:
            if self.backend.status(spec.name) != NodeStatus.STOPPED:
                stopped += 1
            self.backend.stop(spec.name, timeout=self.STOP_TIMEOUT)
            self.backend.forget(spec.name)
        shutil.rmtree(self.state.topology_dir(self.NAME), ignore_errors=True)
        self.state.drop_topology(self.NAME)
        return stopped

    def save(self) -> None:
        self.state.put_topology(self.NAME, {
            "kind": self.NAME, "backend": self.backend.name, "config": asdict(self.config),
            "nodes": [{"spec": s.to_dict(), "handle": self.backend.handle(s.name)} for s in self.specs],
        })


class Attachment:
    """What attachments share (mixed in before the topology class): `chaos down` brings back
    what a crashed run stopped and forgets the record, never stopping a node."""

    attached = True

    def down(self) -> int:
        self.restore()  # type: ignore[attr-defined]
        self.release()
        return 0

    def release(self) -> None:
        """Forget the attachment: the record and its files (restart files may hold a password)."""
        shutil.rmtree(self.state.topology_dir(self.NAME), ignore_errors=True)  # type: ignore[attr-defined]
        self.state.drop_topology(self.NAME)  # type: ignore[attr-defined]
