"""What a crashed harness may leave behind, found without state.json (crash-only cleanup).

Every process the harness starts carries ``CHAOS_OWNER=<state dir>`` in its environment (server
processes, load processes and workers), containers carry the label ``chaos.scope=<scope>`` and
what faults leave behind their own mark (firewall rules the comment ``chaos-harness:<scope>``;
see :mod:`chaos.traces`). Server processes are also recognised by their working directory under
the state directory. :func:`find` looks for all of them; :func:`clean` removes them in the
harness's order: load first, then the faults' traces (a paused process is resumed before it is
stopped), then servers and containers."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chaos.faults  # noqa: F401  (every fault kind registers the traces it can leave)
from chaos.state import OWNER_ENV, StateDir
from chaos.traces import TraceKind, kinds

# programs recognised by their working directory alone (a shell that happens to be in the state
# directory is never touched)
SERVERS = {"redis-server", "valkey-server", "mariadbd", "mysqld"}


@dataclass
class Process:
    pid: int
    name: str  # the program (comm)
    kind: str  # "load" | "server"
    state: str  # running / paused

    def describe(self) -> str:
        return f"{self.kind} process {self.name} (pid {self.pid}, {self.state})"


@dataclass
class Leftovers:
    processes: list[Process] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    traces: list[tuple[TraceKind, Any]] = field(default_factory=list)  # what faults left, by kind

    def __bool__(self) -> bool:
        return bool(self.processes or self.containers or self.traces)

    def describe(self) -> list[str]:
        return ([p.describe() for p in self.processes] + [f"container {c}" for c in self.containers]
                + self.describe_traces())

    def describe_traces(self) -> list[str]:
        return [f"{kind.name} {kind.describe(item)}" for kind, item in self.traces]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _process(pid: int, owner: str) -> Process | None:
    """The process if it belongs to the state directory ``owner`` (environment or cwd)."""
    base = f"/proc/{pid}"
    environ = _read(f"{base}/environ").split(b"\0")
    mine = f"{OWNER_ENV}={owner}".encode() in environ
    stat = _read(f"{base}/stat").decode(errors="replace")
    comm, _, rest = stat.partition("(")[2].rpartition(")")
    if not mine and comm in SERVERS:
        try:
            cwd = os.readlink(f"{base}/cwd")
        except OSError:
            return None
        mine = cwd == owner or cwd.startswith(owner + os.sep)
    if not mine:
        return None
    status = rest.split()[0] if rest.split() else "?"
    if status in ("Z", "X", "?"):
        return None
    cmdline = _read(f"{base}/cmdline").replace(b"\0", b" ").decode(errors="replace")
    kind = "load" if "loadgen.locust_main" in cmdline or "loadgen/clients/" in cmdline else "server"
    return Process(pid, comm, kind, "paused" if status in ("T", "t") else "running")


def find(state: StateDir, docker: bool = True) -> Leftovers:
    """Everything under ``state`` that still runs (never this process or its ancestors)."""
    owner = str(state.path)
    skip = {os.getpid(), os.getppid()}
    found = Leftovers()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in skip:
            proc = _process(int(entry.name), owner)
            if proc is not None:
                found.processes.append(proc)
    found.processes.sort(key=lambda p: (p.kind != "load", p.pid))
    found.traces = [(kind, item) for kind in kinds() for item in kind.find(state)]
    if docker:
        found.containers = _containers(state)
    return found


def _docker_client() -> Any:
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception:  # no engine, no containers to find
        return None


def _containers(state: StateDir) -> list[str]:
    client = _docker_client()
    if client is None:
        return []
    return sorted(c.name for c in client.containers.list(all=True, filters={"label": f"chaos.scope={state.scope}"}))


def stop_load(found: Leftovers, timeout: float = 10.0) -> list[str]:
    """Stop the load processes found (first, so nothing sends load at stopped servers)."""
    loads = [p for p in found.processes if p.kind == "load"]
    _stop(loads, timeout)
    return [p.describe() for p in loads]


def clean(found: Leftovers, timeout: float = 10.0) -> list[str]:
    """Stop and remove what :func:`find` found, in order: load processes, the faults' traces,
    servers (SIGCONT, SIGTERM, then SIGKILL after ``timeout``), containers. Returns what it
    removed. state.json is not read (it may be what is broken)."""
    done = stop_load(found, timeout)
    for kind, item in found.traces:
        kind.remove(item)
    done += found.describe_traces()
    servers = [p for p in found.processes if p.kind != "load"]
    _stop(servers, timeout)
    done += [p.describe() for p in servers]
    if found.containers:
        client = _docker_client()
        if client is not None:
            for name in found.containers:
                try:
                    client.containers.get(name).remove(force=True)
                    done.append(f"container {name}")
                except Exception:
                    pass
    return done


def _alive(pid: int) -> bool:
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    rest = stat.rpartition(")")[2].split()
    return bool(rest) and rest[0] not in ("Z", "X")


def _stop(processes: list[Process], timeout: float) -> None:
    for p in processes:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                break
    deadline = time.monotonic() + timeout
    while any(_alive(p.pid) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in processes:
        if _alive(p.pid):
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in processes:  # reap our own children, if any were
        try:
            os.waitpid(p.pid, os.WNOHANG)
        except ChildProcessError:
            pass
