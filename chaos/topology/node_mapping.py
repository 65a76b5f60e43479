"""Which process or container runs each node of servers the harness did not start (by the port
it listens on), and how to start it again (:mod:`chaos.backends.attached`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.backends.attached import (
    command_port,
    container_id_from_cgroup,
    listening_pid,
    published_ports,
)


def _docker_by_port(client: Any) -> dict[int, tuple[str, str]]:
    """host port → (container name, how it was matched), for every running container."""
    out: dict[int, tuple[str, str]] = {}
    for c in client.containers.list():
        attrs = c.attrs
        if attrs.get("HostConfig", {}).get("NetworkMode") == "host":
            argv = list(attrs.get("Config", {}).get("Entrypoint") or []) + list(attrs.get("Config", {}).get("Cmd") or [])
            port = command_port(argv)
            if port:
                out.setdefault(port, (c.name, "--port in its command"))
        else:
            for host_port in published_ports(attrs.get("NetworkSettings", {}).get("Ports")):
                out.setdefault(host_port, (c.name, "published port"))
    return out


def _docker_by_cgroup(client: Any, host: str, port: int) -> str | None:
    pid = listening_pid(host, port)
    if pid is None:
        return None
    try:
        cid = container_id_from_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
    except OSError:
        return None
    if cid is None:
        return None
    try:
        return client.containers.get(cid).name
    except Exception:
        return None


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)
