"""What every backend runs: a node description and the status words it reports."""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import PortInUse


@dataclass
class NodeSpec:
    """One server process: what to run, where it listens, where its files live."""

    name: str
    kind: str  # "redis" | "mysql"
    host: str
    port: int
    dir: Path
    argv: list[str]  # argv[0] is the binary's name, looked up on PATH
    extra_ports: list[int] = field(default_factory=list)  # e.g. the Redis cluster bus
    log_file: str = "server.log"  # the server's own log, relative to dir
    image: str = ""  # docker backend: the image that runs it (chaos.servers)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / self.log_file

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dir"] = str(self.dir)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeSpec:
        data = dict(data)
        data["dir"] = Path(data["dir"])
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class NodeStatus:
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNKNOWN = "unknown"  # a node of an attached cluster whose process or container was not found


class BackendBase:
    """What every backend shares; subclasses keep ``specs`` (name → NodeSpec) and ``status``."""

    specs: dict[str, NodeSpec]

    def status(self, name: str) -> str:
        raise NotImplementedError

    def is_running(self, name: str) -> bool:
        return self.status(name) == NodeStatus.RUNNING

    def logs(self, name: str) -> Path:
        return self.specs[name].log_path

    LOG_TAIL = 16 << 20  # bytes of a log read at most: a run's lines are at its end (a user's log may be huge)

    def log_lines(self, name: str, since: float | None = None) -> list[str]:
        """The end of the server's own log ([] when it writes none this harness can read);
        ``since`` (unix time) lets a backend skip older output."""
        spec = self.specs[name]
        if not spec.log_file:
            return []
        try:
            with open(spec.log_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - self.LOG_TAIL))
                return f.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    def check_ports(self, spec: NodeSpec) -> None:
        """A one-line error naming the first port of the node that something else holds."""
        for port in [spec.port, *spec.extra_ports]:
            check_port_free(spec.host, port, spec.name)


def check_port_free(host: str, port: int, owner: str) -> None:
    """Raise :class:`PortInUse` naming the port if something already listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortInUse(
                f"port {host}:{port} (needed by {owner}) is already in use; stop what listens "
                "there or choose other ports with --base-port"
            ) from None


def wait_port_open(host: str, port: int, timeout: float) -> bool:
    """True once a TCP connect to host:port succeeds within ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
