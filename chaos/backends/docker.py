"""Nodes as Docker containers: host networking (nodes stay on their loopback addresses, as
operators commonly run Redis Cluster nodes), the node's directory bind-mounted at the same
path, so configs, data, ``nodes.conf`` and logs are where the process backend keeps them.

Images are built locally (no registry here): ``chaos images build redis`` (see
:mod:`chaos.images`). Containers are named ``chaos-<scope>-<node>``, the scope derived from the
state directory, and carry the label ``chaos.scope``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaos.backends.base import BackendBase, NodeSpec, NodeStatus, wait_port_open
from chaos.errors import ChaosError, TopologyError
from chaos.state import StateDir


class DockerBackend(BackendBase):
    name = "docker"

    def __init__(self, state_path: Path):
        self.scope = StateDir(state_path).scope
        self.specs: dict[str, NodeSpec] = {}
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker

            try:
                client = docker.from_env(timeout=30)
                client.ping()
            except Exception as exc:
                raise ChaosError(f"cannot reach the Docker engine ({str(exc).splitlines()[0][:120]}); start it "
                                 "(as root: `dockerd --bridge=none &`) or use --backend process") from None
            self._client = client
        return self._client

    def container_name(self, name: str) -> str:
        return f"chaos-{self.scope}-{name}"

    def _container(self, name: str) -> Any:
        import docker

        try:
            return self.client.containers.get(self.container_name(name))
        except docker.errors.NotFound:
            return None

    # -- bookkeeping -------------------------------------------------------------------------
    def require(self, kind: str, server: Any = None) -> str:
        """The image of ``server`` (a :class:`chaos.servers.Server`; default: the kind's newest
        image), or a one-line error naming the command that builds it."""
        from chaos.servers import docker_image, parse_server

        return docker_image(self.client, server or parse_server(None, kind))

    def _volumes(self, directory: Path) -> dict[str, dict[str, str]]:
        volumes = {str(directory): {"bind": str(directory), "mode": "rw"}}
        if Path("/etc/localtime").exists():  # server logs in the host's local time, as the log parser expects
            volumes["/etc/localtime"] = {"bind": "/etc/localtime", "mode": "ro"}
        return volumes

    def run_tool(self, kind: str, argv: list[str], cwd: Path, image: str = "") -> tuple[int, str]:
        """Run a one-off tool (e.g. mariadb-install-db) in a throwaway container of the image."""
        container = self.client.containers.run(image or self.require(kind), command=list(argv), detach=True,
                                               network_mode="host", volumes=self._volumes(cwd), working_dir=str(cwd),
                                               labels={"chaos.scope": self.scope})
        try:
            code = container.wait(timeout=120).get("StatusCode", 1)
            return code, container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)

    def adopt(self, spec: NodeSpec, handle: Any) -> None:
        self.specs[spec.name] = spec

    def handle(self, name: str) -> Any:  # the container id
        return self.container_name(name)

    def pid(self, name: str) -> int | None:
        c = self._container(name)
        pid = c.attrs.get("State", {}).get("Pid") if c is not None else None
        return pid or None

    def status(self, name: str) -> str:
        c = self._container(name)
        if c is None:
            return NodeStatus.STOPPED
        return {"running": NodeStatus.RUNNING, "paused": NodeStatus.PAUSED}.get(c.status, NodeStatus.STOPPED)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, spec: NodeSpec, ready_timeout: float = 20.0) -> str:
        self.check_ports(spec)
        spec.dir.mkdir(parents=True, exist_ok=True)
        old = self._container(spec.name)
        if old is not None:
            old.remove(force=True)
        self.specs[spec.name] = spec
        self.client.containers.run(
            spec.image or self.require(spec.kind), command=list(spec.argv), name=self.container_name(spec.name), detach=True,
            network_mode="host", volumes=self._volumes(spec.dir),
            labels={"chaos.scope": self.scope, "chaos.node": spec.name}, working_dir=str(spec.dir),
        )
        self._wait_ready(spec, ready_timeout)
        return self.container_name(spec.name)

    def _wait_ready(self, spec: NodeSpec, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not wait_port_open(spec.host, spec.port, 0.1):
            c = self._container(spec.name)
            if c is None or c.status in ("exited", "dead"):
                tail = c.logs(tail=3).decode(errors="replace").strip().splitlines()[-1:] if c is not None else []
                raise TopologyError(f"container of {spec.name} exited at start: {' '.join(tail) or 'no output'}; "
                                    f"see {spec.log_path}")
            if time.monotonic() > deadline:
                raise TopologyError(f"{spec.name} did not accept connections on {spec.address} within "
                                    f"{timeout:.0f} s; see {spec.log_path}")

    def restart(self, name: str, ready_timeout: float = 20.0) -> str:
        """Start the stopped container again: same directory, data and ``nodes.conf``."""
        c = self._container(name)
        if c is None:
            return self.start(self.specs[name], ready_timeout)
        if c.status in ("running", "paused"):
            raise TopologyError(f"{name} is still running; stop or kill it before a restart")
        self.check_ports(self.specs[name])
        c.start()
        self._wait_ready(self.specs[name], ready_timeout)
        return self.container_name(name)

    def kill(self, name: str) -> None:
        """SIGKILL to the node's process (``docker kill``)."""
        c = self._container(name)
        if c is not None and c.status in ("running", "paused"):
            if c.status == "paused":
                c.unpause()
            c.kill()
            self._wait_status(name, NodeStatus.STOPPED)

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """Graceful: SIGTERM, then SIGKILL after ``timeout`` (``docker stop``)."""
        c = self._container(name)
        if c is not None and c.status in ("running", "paused"):
            if c.status == "paused":
                c.unpause()
            c.stop(timeout=max(1, int(timeout)))
            self._wait_status(name, NodeStatus.STOPPED)

    def pause(self, name: str) -> None:
        c = self._container(name)
        if c is not None and c.status == "running":
            c.pause()

    def resume(self, name: str) -> None:
        c = self._container(name)
        if c is not None and c.status == "paused":
            c.unpause()

    def forget(self, name: str) -> None:
        """Remove the node's container (``chaos down``)."""
        c = self._container(name)
        if c is not None:
            c.remove(force=True)

    def _wait_status(self, name: str, want: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.status(name) != want and time.monotonic() < deadline:
            time.sleep(0.01)
