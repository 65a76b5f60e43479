"""What the harness has started, kept on disk so ``chaos down`` can clean up even after the
harness process itself was killed.

Layout of a state directory (default ``./.chaos``)::

    state.json                 {"topologies": {NAME: {...}}, "rules": [...], "processes": [...]}
    <topology>/<node>/         one directory per node: config, data, log

``processes`` are the harness's own helper processes (load processes and workers), recorded
before they start. Every process the harness starts carries ``CHAOS_OWNER=<state dir>`` in its
environment, containers the label ``chaos.scope=<scope>`` and firewall rules the comment
``chaos-harness:<scope>``, so ``chaos down`` can find them even when state.json is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from chaos.errors import StateDirError

DEFAULT_STATE_DIR = ".chaos"
STATE_FILE = "state.json"
OWNER_ENV = "CHAOS_OWNER"  # environment variable marking every process started for a state dir


def empty_state() -> dict[str, Any]:
    return {"topologies": {}, "rules": [], "processes": []}


class StateDir:
    """A state directory and its ``state.json``; every change is written atomically."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()

    def ensure(self) -> Path:
        """Create the directory; raise a one-line error if it cannot be created or written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StateDirError(
                f"state directory {self.path} is not writable ({exc.strerror or exc}); "
                "choose another with --state-dir or CHAOS_STATE_DIR"
            ) from None
        return self.path

    @property
    def file(self) -> Path:
        return self.path / STATE_FILE

    @property
    def scope(self) -> str:
        """A short id of this state directory: container names and labels, rule comments."""
        return hashlib.sha1(str(self.path).encode()).hexdigest()[:8]

    def owner_env(self) -> dict[str, str]:
        """The environment entry that marks a process as started for this state directory."""
        return {OWNER_ENV: str(self.path)}

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text())
        except FileNotFoundError:
            return empty_state()
        except (OSError, ValueError) as exc:
            raise StateDirError(
                f"cannot read {self.file} ({exc}); `chaos down` finds and stops what is left without it"
            ) from None
        if not isinstance(data, dict):
            raise StateDirError(f"{self.file} is damaged (not a JSON object); `chaos down` can still clean up")
        for key, value in empty_state().items():
            data.setdefault(key, value)
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.ensure()
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.replace(tmp, self.file)

    def topology(self, name: str) -> dict[str, Any] | None:
        return self.load()["topologies"].get(name)

    def put_topology(self, name: str, record: dict[str, Any]) -> None:
        data = self.load()
        data["topologies"][name] = record
        self.save(data)

    def drop_topology(self, name: str) -> None:
        data = self.load()
        data["topologies"].pop(name, None)
        self.save(data)

    def topology_dir(self, name: str) -> Path:
        return self.path / name

    def record_process(self, entry: dict[str, Any]) -> None:
        data = self.load()
        data["processes"].append(entry)
        self.save(data)

    def update_process(self, key: str, **fields: Any) -> None:
        data = self.load()
        for entry in data["processes"]:
            if entry.get("key") == key:
                entry.update(fields)
        self.save(data)

    def forget_process(self, key: str) -> None:
        data = self.load()
        kept = [e for e in data["processes"] if e.get("key") != key]
        if len(kept) != len(data["processes"]):
            data["processes"] = kept
            self.save(data)
