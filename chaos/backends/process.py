"""Local server binaries run as child processes, tracked by pid (never ``--daemonize``).

Each child gets its own session, so a Ctrl-C in the terminal reaches only the harness, which
then stops its nodes in order. Pids are also kept on disk (see :mod:`chaos.state`), so a later
``chaos down`` can stop nodes whose harness process died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from chaos.backends.base import BackendBase, NodeSpec, NodeStatus, wait_port_open
from chaos.binaries import find_binary
from chaos.errors import TopologyError
from chaos.interrupts import deferred_interrupts
from chaos.state import StateDir


def pid_status(pid: int | None, binary: str | None = None) -> str:
    """running / paused / stopped, read from /proc; a reused pid of another program is stopped."""
    if not pid:
        return NodeStatus.STOPPED
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return NodeStatus.STOPPED
    comm, _, rest = stat.partition("(")[2].rpartition(")")
    if binary and comm != os.path.basename(binary)[:15]:
        return NodeStatus.STOPPED
    state = rest.split()[0]
    if state in ("Z", "X"):
        return NodeStatus.STOPPED
    if state in ("T", "t"):
        return NodeStatus.PAUSED
    return NodeStatus.RUNNING


class ProcessBackend(BackendBase):
    """Start, kill, stop, pause and resume local server processes."""

    name = "process"

    def __init__(self, state_path: Path | None = None) -> None:
        # every server carries its state dir in its environment, so `chaos down` finds it without state.json
        self.env = {**os.environ, **StateDir(state_path).owner_env()} if state_path is not None else None
        self.specs: dict[str, NodeSpec] = {}
        self.pids: dict[str, int] = {}
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    # -- bookkeeping -------------------------------------------------------------------------
    def require(self, kind: str, server: Any = None) -> str:
        """The server binary of ``server`` (default: the kind's usual one) installed in the
        version asked for, or a one-line error saying what to install or build."""
        from chaos.servers import local_binary, parse_server

        server = server or parse_server(None, kind)
        path = local_binary(server)[0]
        if server.name == "mariadb":
            find_binary("mariadb-install-db")
        return path

    def run_tool(self, kind: str, argv: list[str], cwd: Path, image: str = "") -> tuple[int, str]:
        """Run a one-off tool of the server's package (e.g. mariadb-install-db); (exit code, output)."""
        run = subprocess.run([find_binary(argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True,
                             check=False)
        return run.returncode, run.stdout + run.stderr

    def handle(self, name: str) -> Any:  # the pid
        """What state.json keeps to find the node again: its pid."""
        return self.pids.get(name)

    def forget(self, name: str) -> None:
        """Nothing to remove for a process once it is stopped."""

    def adopt(self, spec: NodeSpec, pid: int | None) -> None:
        """Track a node started by an earlier harness process (pid read from state.json)."""
        self.specs[spec.name] = spec
        if pid:
            self.pids[spec.name] = pid

    def pid(self, name: str) -> int | None:
        return self.pids.get(name)

    def _reap(self, name: str) -> None:
        """Collect the exit status of a dead child of this process, so no zombie lingers
        (also for nodes started by another backend object of the same process)."""
        child = self._children.get(name)
        if child is not None:
            if child.poll() is not None:
                self._children.pop(name, None)
            return
        pid = self.pids.get(name)
        if pid:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def status(self, name: str) -> str:
        spec = self.specs.get(name)
        status = pid_status(self.pids.get(name), spec.argv[0] if spec else None)
        if status == NodeStatus.STOPPED:
            self._reap(name)
        return status

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, spec: NodeSpec, ready_timeout: float = 10.0) -> int:
        """Start the node and wait until its port accepts connections; return its pid."""
        binary = find_binary(spec.argv[0])
        self.check_ports(spec)
        spec.dir.mkdir(parents=True, exist_ok=True)
        # A Ctrl-C between fork and bookkeeping would leave an untracked server: hold it.
        with deferred_interrupts(), open(spec.dir / "stdout.log", "ab") as out:
            child = subprocess.Popen(
                [binary, *spec.argv[1:]],
                cwd=spec.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a terminal's Ctrl-C reaches the harness alone
                env=self.env,
            )
            self.specs[spec.name] = spec
            self.pids[spec.name] = child.pid
            self._children[spec.name] = child
        deadline = time.monotonic() + ready_timeout
        while not wait_port_open(spec.host, spec.port, 0.1):
            if child.poll() is not None:
                raise TopologyError(
                    f"{spec.name} ({spec.argv[0]}) exited at start with code {child.returncode}: "
                    f"{last_line(spec)}; see {spec.log_path}"
                )
            if time.monotonic() > deadline:
                raise TopologyError(
                    f"{spec.name} did not accept connections on {spec.address} within "
                    f"{ready_timeout:.0f} s; see {spec.log_path}"
                )
        return child.pid

    def restart(self, name: str, ready_timeout: float = 10.0) -> int:
        """Start a stopped node again with the same directory (data, config, nodes.conf)."""
        if self.status(name) != NodeStatus.STOPPED:
            raise TopologyError(f"{name} is still running; stop or kill it before a restart")
        return self.start(self.specs[name], ready_timeout)

    def _signal(self, name: str, sig: signal.Signals) -> bool:
        pid = self.pids.get(name)
        if not pid or self.status(name) == NodeStatus.STOPPED:
            return False
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True

    def kill(self, name: str) -> None:
        """SIGKILL: the node dies at once, as in a power cut of that process."""
        if self._signal(name, signal.SIGKILL):
            self._wait_gone(name, 5.0)

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """Graceful: SIGCONT (in case it is paused), SIGTERM, wait, then SIGKILL."""
        if not self._signal(name, signal.SIGCONT):
            return
        self._signal(name, signal.SIGTERM)
        if not self._wait_gone(name, timeout):
            self.kill(name)

    def pause(self, name: str) -> None:
        """SIGSTOP; returns once the kernel reports the process stopped."""
        if self._signal(name, signal.SIGSTOP):
            self._wait_status(name, NodeStatus.PAUSED)

    def resume(self, name: str) -> None:
        """SIGCONT; returns once the process runs again."""
        if self._signal(name, signal.SIGCONT):
            self._wait_status(name, NodeStatus.RUNNING)

    def _wait_status(self, name: str, want: str, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while self.status(name) not in (want, NodeStatus.STOPPED) and time.monotonic() < deadline:
            time.sleep(0.001)

    def _wait_gone(self, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        child = self._children.get(name)
        while time.monotonic() < deadline:
            if child is not None:
                try:
                    child.wait(timeout=0.02)
                except subprocess.TimeoutExpired:
                    continue
                self._children.pop(name, None)
                return True
            if self.status(name) == NodeStatus.STOPPED:
                return True
            time.sleep(0.02)
        return self.status(name) == NodeStatus.STOPPED


def last_line(spec: NodeSpec) -> str:
    """The last non-empty line of a node's logs, for one-line error messages."""
    for path in (spec.log_path, spec.dir / "stdout.log"):
        try:
            lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            continue
        if lines:
            return lines[-1][-200:]
    return "no log output"
