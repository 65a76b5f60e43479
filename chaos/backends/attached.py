"""Backends for servers the harness did not start (``--attach``): it finds what runs each node,
kills, stops, pauses and brings it back, and never creates, reconfigures or removes anything.

* process: the local process listening on the node's port (``/proc/net/tcp`` → socket inode →
  the pid holding it). It is started again with the same executable, working directory and
  user. Redis rewrites its own command line (``redis-server *:7001 [cluster]``) and wipes its
  environment, so its original arguments cannot be read back; the harness keeps the server's
  effective configuration (``CONFIG GET *``, taken before any fault) in a file of mode 0600 and
  starts it from that. MariaDB's command line is intact and reused as is.
* docker: the container whose port matches (host network: ``--port`` in its command, else the
  container of the process listening on the port, found through its cgroup; bridge: its
  published port). ``docker kill`` / ``docker start`` / ``docker pause`` on that container.

The pure parts (``/proc`` text, cgroup lines, container commands) are unit-tested on literal
data."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from chaos.backends.base import NodeSpec, NodeStatus, wait_port_open
from chaos.backends.docker import DockerBackend
from chaos.backends.process import ProcessBackend, pid_status
from chaos.errors import TopologyError
from chaos.state import OWNER_ENV

LISTEN = "0A"


# -- pure helpers --------------------------------------------------------------------------------
def _hex_address(hex_ip: str) -> str:
    """``0100007F`` → ``127.0.0.1``; IPv6 (32 hex digits, four little-endian words) → its text."""
    if len(hex_ip) == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_ip)))
    import ipaddress

    words = [bytes.fromhex(hex_ip[i : i + 8])[::-1] for i in range(0, 32, 8)]
    return str(ipaddress.IPv6Address(b"".join(words)))


def listening_inodes(proc_net_tcp: str, port: int, host: str | None = None) -> list[int]:
    """Socket inodes listening on ``port`` in a ``/proc/net/tcp`` or ``tcp6`` text, on ``host`` or
    on a wildcard address (``0.0.0.0``, ``::``); all hosts when ``host`` is None."""
    found = []
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != LISTEN:
            continue
        hex_ip, _, hex_port = fields[1].partition(":")
        if int(hex_port, 16) != port:
            continue
        address = _hex_address(hex_ip)
        if host is None or address in (host, "0.0.0.0", "::") or address == f"::ffff:{host}":
            found.append(int(fields[9]))
    return found


def container_id_from_cgroup(text: str) -> str | None:
    """The Docker container id in a ``/proc/PID/cgroup`` text (cgroup v1 or v2, cgroupfs or
    systemd driver), None for a process outside containers."""
    match = re.search(r"docker[-/]([0-9a-f]{64})", text)
    return match.group(1) if match else None


def command_port(argv: list[str]) -> int | None:
    """The port a Redis or MariaDB command line asks for: ``--port N``, ``--port=N``, ``-P N``
    (mariadbd), or ``port N`` as two words; None when it names none."""
    for i, arg in enumerate(argv):
        if arg.startswith("--port="):
            return int(arg.split("=", 1)[1])
        if arg in ("--port", "-P", "port") and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
    return None


def published_ports(ports: dict[str, Any] | None) -> dict[int, int]:
    """``NetworkSettings.Ports`` of a bridged container → {host port: container port}."""
    out: dict[int, int] = {}
    for inside, bindings in (ports or {}).items():
        for b in bindings or []:
            if b.get("HostPort"):
                out[int(b["HostPort"])] = int(inside.split("/")[0])
    return out


def proc_ids(status_text: str) -> tuple[int, int]:
    """(real uid, real gid) from a ``/proc/PID/status`` text."""
    ids = {}
    for line in status_text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Uid", "Gid"):
            ids[key] = int(rest.split()[0])
    return ids.get("Uid", 0), ids.get("Gid", 0)


# -- /proc lookups -------------------------------------------------------------------------------
def listening_pid(host: str, port: int) -> int | None:
    """The pid of the local process listening on host:port, None if none is visible here."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            inodes |= set(listening_inodes(Path(table).read_text(), port, host))
        except OSError:
            continue
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(proc.name)
        except OSError:  # gone, or not ours to read
            continue
    return None


def process_facts(pid: int) -> dict[str, Any]:
    """What restarting a process needs: executable, command line, working directory, user."""
    proc = Path(f"/proc/{pid}")
    uid, gid = proc_ids((proc / "status").read_text())
    return {"pid": pid, "exe": os.readlink(proc / "exe"), "cwd": os.readlink(proc / "cwd"),
            "cmdline": [a for a in (proc / "cmdline").read_bytes().decode(errors="replace").split("\0") if a],
            "uid": uid, "gid": gid}


def owner_free_env() -> dict[str, str]:
    """The harness's environment without its owner marker: a node brought back is the user's,
    so `chaos down` must never take it for a leftover of the harness."""
    return {k: v for k, v in os.environ.items() if k != OWNER_ENV}


# -- backends ------------------------------------------------------------------------------------
class AttachedProcessBackend(ProcessBackend):
    """Local processes found by port. ``handle`` (kept in state.json) is the restart recipe:
    pid, executable, argv, cwd, uid, gid."""

    attached = True

    def __init__(self, state_path: Path | None = None) -> None:
        super().__init__(None)
        self.env = owner_free_env()
        self.recipes: dict[str, dict[str, Any]] = {}

    def adopt(self, spec: NodeSpec, handle: Any) -> None:
        self.specs[spec.name] = spec
        recipe = dict(handle or {})
        self.recipes[spec.name] = recipe
        if recipe.get("pid"):
            self.pids[spec.name] = int(recipe["pid"])

    def handle(self, name: str) -> Any:  # a recipe to start the process again
        return {**self.recipes.get(name, {}), "pid": self.pids.get(name)}

    def status(self, name: str) -> str:
        if not self.pids.get(name):
            return NodeStatus.UNKNOWN
        status = pid_status(self.pids.get(name))
        if status == NodeStatus.STOPPED:
            self._reap(name)
        return status

    def can_restart(self, name: str) -> str | None:
        """Why ``name`` cannot be started again (None: it can)."""
        recipe = self.recipes.get(name, {})
        if not recipe.get("argv"):
            return recipe.get("why_not") or "its command line is unknown"
        if recipe.get("uid", 0) != os.geteuid() and os.geteuid() != 0:
            return f"it runs as uid {recipe['uid']} and the harness is neither that user nor root"
        return None

    def start(self, spec: NodeSpec, ready_timeout: float = 30.0) -> int:
        """Start the node again as it ran: same executable, argv, working directory, user."""
        why = self.can_restart(spec.name)
        if why:
            raise TopologyError(f"cannot start {spec.name} again: {why}")
        r = self.recipes[spec.name]
        spec.dir.mkdir(parents=True, exist_ok=True)
        as_user = {"user": r["uid"], "group": r["gid"]} if os.geteuid() == 0 and r["uid"] != 0 else {}
        with open(spec.dir / "stdout.log", "ab") as out:
            child = subprocess.Popen(r["argv"], executable=r["exe"], cwd=r["cwd"], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=self.env,
                                     **as_user)
        self._children[spec.name] = child
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if wait_port_open(spec.host, spec.port, 0.1):
                pid = listening_pid(spec.host, spec.port)  # the child, or the daemon it forked
                if pid:
                    self.pids[spec.name] = pid
                    return pid
            if child.poll() not in (None, 0):
                raise TopologyError(f"{spec.name} exited at start with code {child.returncode}; see "
                                    f"{spec.dir / 'stdout.log'}")
        raise TopologyError(f"{spec.name} did not accept connections on {spec.address} within {ready_timeout:.0f} s")

    def restart(self, name: str, ready_timeout: float = 30.0) -> int:
        if self.status(name) != NodeStatus.STOPPED:
            raise TopologyError(f"{name} is still running; stop or kill it before a restart")
        return self.start(self.specs[name], ready_timeout)

    def forget(self, name: str) -> None:
        """Nothing: the node is the user's."""


class AttachedDockerBackend(DockerBackend):
    """Containers found by port; ``handle`` is the container's name."""

    attached = True

    def __init__(self, state_path: Path):
        super().__init__(state_path)
        self.containers: dict[str, str] = {}

    def adopt(self, spec: NodeSpec, handle: Any) -> None:
        self.specs[spec.name] = spec
        if handle:
            self.containers[spec.name] = str(handle)

    def handle(self, name: str) -> Any:  # the container's id, if one runs it
        return self.containers.get(name)

    def container_name(self, name: str) -> str:
        return self.containers.get(name, name)

    def status(self, name: str) -> str:
        return super().status(name) if self.containers.get(name) else NodeStatus.UNKNOWN

    def can_restart(self, name: str) -> str | None:
        return None if name in self.containers else "no container runs it"

    def require(self, kind: str, server: Any = None) -> str:
        """Nothing to build: the containers exist (and run whatever image they run)."""
        return ""

    def start(self, spec: NodeSpec, ready_timeout: float = 30.0) -> str:
        return self.restart(spec.name, ready_timeout)

    def restart(self, name: str, ready_timeout: float = 30.0) -> str:
        """``docker start`` of the same container: same command, volumes, network."""
        c = self._container(name)
        if c is None:
            raise TopologyError(f"the container {self.container_name(name)} of {name} is gone")
        if c.status in ("running", "paused"):
            raise TopologyError(f"{name} is still running; stop or kill it before a restart")
        c.start()
        self._wait_ready(self.specs[name], ready_timeout)
        return self.container_name(name)

    def log_lines(self, name: str, since: float | None = None) -> list[str]:
        """The server's log: its log file when it has one on this machine, else the container's
        output since ``since`` (``docker logs``)."""
        spec = self.specs[name]
        if spec.log_file and spec.log_path.is_file():
            return super().log_lines(name, since)
        c = self._container(name)
        if c is None:
            return []
        output = c.logs(since=int(since)) if since is not None else c.logs()
        return output.decode(errors="replace").splitlines()

    def forget(self, name: str) -> None:
        """Nothing: the container is the user's."""
