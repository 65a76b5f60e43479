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
from loadgen.settings import LoadSettings

Second = dict[str, Any]


class LoadController:
    def __init__(self, settings: LoadSettings, on_second: Callable[[Second], None] | None = None,
                 env: dict[str, str] | None = None):
        self.settings = settings
        self.on_second = on_second
        self.env = env or {}
        self.seconds: list[Second] = []
        self.out_dir = Path(settings.out_dir)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self.done = threading.Event()

    @property
    def shards(self) -> list[Path]:
        return sorted(self.out_dir.glob("history-[0-9]*.jsonl"))

    @property
    def log_path(self) -> Path:
        return self.out_dir / "load.log"

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"load-settings-{self.settings.worker_index}.json"
        path.write_text(self.settings.to_json())
        log = open(self.log_path, "ab")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "loadgen.locust_main", str(path)],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                env={**os.environ, **self.env}, start_new_session=True,
            )
        finally:
            log.close()
        self._reader = threading.Thread(target=self._read, name="load-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("done"):
                continue
            self.seconds.append(data)
            if self.on_second is not None:
                try:
                    self.on_second(data)
                except Exception:  # a listener's trouble never stops the load relay
                    pass
        self.done.set()

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float | None = None) -> None:
        if self._proc is not None:
            self._proc.wait(timeout)
            self.done.wait(5)
            self._check_exit()

    def stop(self, timeout: float = 20.0) -> None:
        """Ask the load process to finish (SIGTERM), wait, SIGKILL if it hangs. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.done.wait(5)
        self._check_exit()

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

    def totals(self) -> dict[str, int]:
        out = {"ok": 0, "fail": 0, "info": 0}
        for s in self.seconds:
            for k in out:
                out[k] += s.get(k, 0)
        return out
