"""What the harness has started, kept on disk so ``chaos down`` can clean up even after the
harness process itself was killed.

Layout of a state directory (default ``./.chaos``)::

    state.json                 {"topologies": {NAME: {...}}, "rules": [...]}
    <topology>/<node>/         one directory per node: config, data, log
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from chaos.errors import StateDirError

DEFAULT_STATE_DIR = ".chaos"
STATE_FILE = "state.json"


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

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text())
        except FileNotFoundError:
            return {"topologies": {}, "rules": []}
        except (OSError, ValueError) as exc:
            raise StateDirError(
                f"cannot read {self.file} ({exc}); remove it after stopping any leftover servers"
            ) from None
        data.setdefault("topologies", {})
        data.setdefault("rules", [])
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
