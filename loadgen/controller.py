"""Orchestrator side of the load: starts the Locust process, relays its per-second figures,
stops it. Imports neither locust nor gevent, so the orchestrator keeps steady timing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError
from chaos.interrupts import deferred_interrupts
from chaos.state import StateDir
from loadgen.settings import LoadSettings

Second = dict[str, Any]


class LoadController:
    def __init__(self, settings: LoadSettings, on_second: Callable[[Second], None] | None = None,
                 env: dict[str, str] | None = None, state: StateDir | None = None):
        self.settings = settings
        self.state = state  # where the load processes are recorded, so `chaos down` finds them
        self.on_second = on_second
        self.env = env or {}
        self.seconds: list[Second] = []
        self.out_dir = Path(settings.out_dir)
        self._proc: subprocess.Popen[str] | None = None  # the process whose stdout carries the seconds
        self._workers: list[subprocess.Popen[bytes]] = []
        self._reader: threading.Thread | None = None
        self._keys: list[str] = []  # the load processes' entries in the state directory
        self.done = threading.Event()

    @property
    def shards(self) -> list[Path]:
        return sorted(self.out_dir.glob("history-[0-9]*.jsonl"))

    @property
    def log_path(self) -> Path:
        return self.out_dir / "load.log"

    def worker_command(self, index: int, master_host: str = "127.0.0.1", parent: int | None = None) -> list[str]:
        """The command line of load worker ``index``; on another machine, run it with a copy of
        the settings file and ``master_host`` set to this machine's --master-bind address.
        ``parent``: the worker exits when that process is gone (set for local workers)."""
        return [sys.executable, "-m", "loadgen.locust_main", str(self.settings_path), "--role", "worker",
                "--index", str(index), "--master-host", master_host,
                *(["--parent", str(parent)] if parent else [])]

    @property
    def settings_path(self) -> Path:
        return self.out_dir / "load-settings.json"

    def start(self) -> None:
        """One local Locust process, or (workers > 1) a Locust master and N worker processes.

        Each is recorded in the state directory before it starts (then with its pid), carries
        the state directory in its environment, and exits by itself when this process is gone."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.settings_path.write_text(self.settings.to_json())
        env = {**os.environ, **self.env, **(self.state.owner_env() if self.state else {})}
        role = "local" if self.settings.workers <= 1 else "master"
        me = os.getpid()
        commands = [("load", [sys.executable, "-m", "loadgen.locust_main", str(self.settings_path), "--role", role,
                              "--parent", str(me)])]
        if role == "master":
            commands += [(f"load-worker-{i}", self.worker_command(i, parent=me)) for i in range(self.settings.workers)]
        with open(self.log_path, "ab") as log, deferred_interrupts():
            for kind, argv in commands:
                key = f"{self.settings.run_id}:{kind}"
                if self.state is not None:
                    self.state.record_process({"key": key, "kind": kind, "run_dir": str(self.out_dir), "pid": None,
                                               "controller": me})
                proc = subprocess.Popen(argv, stdout=subprocess.PIPE if kind == "load" else subprocess.DEVNULL,
                                        stderr=log, stdin=subprocess.DEVNULL, text=True, env=env,
                                        start_new_session=True)
                if self.state is not None:
                    self.state.update_process(key, pid=proc.pid)
                self._keys.append(key)
                if kind == "load":
                    self._proc = proc  # type: ignore[assignment]
                else:
                    self._workers.append(proc)  # type: ignore[arg-type]
        self._reader = threading.Thread(target=self._read, name="load-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        series = open(self.out_dir / "load-seconds.jsonl", "a")
        for line in self._proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("done"):
                continue
            self.seconds.append(data)
            series.write(line if line.endswith("\n") else line + "\n")
            series.flush()
            if self.on_second is not None:
                try:
                    self.on_second(data)
                except Exception:  # a listener's trouble never stops the load relay
                    pass
        series.close()
        self.done.set()

    def pids(self) -> list[int]:
        """The load processes started here (the Locust master or local process, and workers)."""
        return [p.pid for p in [self._proc, *self._workers] if p is not None]

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float | None = None) -> None:
        if self._proc is not None:
            self._proc.wait(timeout)
            for worker in self._workers:
                _terminate(worker, 15.0)
            self._forget()
            self.done.wait(5)
            self._check_exit()

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the load processes to finish (SIGTERM), wait, SIGKILL if they hang. Idempotent."""
        if self._proc is None:
            return
        procs: list[Any] = [self._proc, *self._workers]
        for proc in procs:  # the master first: it tells its workers to quit
            _terminate(proc, timeout)
        self._forget()
        self.done.wait(5)
        self._check_exit()

    def _forget(self) -> None:
        if self.state is not None:
            for key in self._keys:
                self.state.forget_process(key)
        self._keys = []

    def _check_exit(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode not in (0, -signal.SIGTERM, None):
            tail = ""
            try:
                lines = self.log_path.read_text(errors="replace").strip().splitlines()
                tail = lines[-1] if lines else ""
            except OSError:
                pass
            raise ChaosError(f"the load process exited with code {proc.returncode}: {tail} "
                             f"(see {self.log_path})")


def _terminate(proc: subprocess.Popen, timeout: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
