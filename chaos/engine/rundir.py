"""A run directory's files: the kept final read, the timeline, result.json, the per-second
load figures, and the nodes' own files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError
from chaos.history import compress_file, history_path, open_lines, parse_json, records
from chaos.runner import Run

# the final read, a batch of keys at a time: their values in order (None when absent)
ReadFinal = Callable[[list[str]], list[Any]]


def per_second(path: Path) -> list[list[Any]]:
    """The client's view, one row per second: [t, ok, fail, info, p50 ms, p99 ms]."""
    rows = []
    try:
        with open(path) as lines:
            for line in lines:
                d = json.loads(line)
                rows.append([d["t"], d["ok"], d["fail"], d["info"], d.get("p50"), d.get("p99")])
    except (FileNotFoundError, ValueError):
        pass
    return rows


class FinalReadLog:
    """Wraps a live final read so every batch is also appended to ``path``, one ``[key, value]``
    per line in the order it was read, so a verdict can be recomputed later (`chaos analyze`).
    If a read fails, the file is removed: a partial read would make `chaos analyze` count the
    keys never read as lost, where the live verdict said it could not tell."""

    def __init__(self, path: Path, read: ReadFinal):
        self.path, self.read = path, read
        self.failed = False

    def __enter__(self) -> FinalReadLog:
        self._out = open(self.path, "w")
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.close()
        if self.failed:
            self.path.unlink(missing_ok=True)

    def __call__(self, keys: list[str]) -> list[Any]:
        try:
            values = self.read(keys)
        except BaseException:
            self.failed = True
            raise
        write = self._out.write
        for key, value in zip(keys, values):
            write(json.dumps([key, value], separators=(",", ":")) + "\n")
        return values


class StoredFinalRead:
    """A kept final read (see :class:`FinalReadLog`) served back batch by batch. Analysed again,
    a run asks for its keys in the order it did live, so the file is read in step with the asks
    (memory stays flat); if the keys differ (a run kept by an older version, or a changed
    analysis), the whole file is loaded and looked up instead."""

    def __init__(self, path: Path):
        if not history_path(path).exists():
            raise ChaosError(f"{path} is missing: only a finished run can be analyzed again")
        self.path = path
        self._lines: Any = open_lines(path)  # plain, or the .zst a finished run packed it into
        self._all: dict[str, Any] | None = None

    def __enter__(self) -> StoredFinalRead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lines is not None:
            self._lines.close()

    def __call__(self, keys: list[str]) -> list[Any]:
        if self._all is None:
            values = []
            for key in keys:
                line = self._lines.readline()
                stored = parse_json(line) if line.endswith("\n") else None
                if stored is None or stored[0] != key:
                    break
                values.append(stored[1])
            else:
                return values
            self._lines.close()
            self._lines = None
            self._all = dict(iter_final_read(self.path))
        return [self._all.get(k) for k in keys]


def iter_final_read(path: Path) -> Iterator[list[Any]]:
    """[key, value] pairs of a kept final read, streamed."""
    yield from records(path)


class Timeline:
    """A run's timeline, read from disk each time it is iterated (probe samples, log events,
    steps), so checkers stream it in constant memory however long the run was: a 10-minute run
    holds ~360 000 samples, over a gigabyte as dicts. Within one node, probe samples are in time
    order (one probe thread per node, one writer draining a FIFO queue); across nodes only
    roughly so."""

    def __init__(self, path: Path):
        self.path = path

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return records(self.path)


def read_timeline(path: Path) -> Timeline:
    """``timeline.jsonl`` of a run, plain (a run in progress, or one that crashed) or packed
    into ``timeline.jsonl.zst`` (a finished run, see :func:`pack`)."""
    if not history_path(path).exists():
        raise FileNotFoundError(path)
    return Timeline(path)


# what a run that may never write result.json (a soak) records as it begins: scenario, run id,
# seed, config, and what its measure context holds then (`chaos analyze` of a killed run)
STARTED_FILE = "started.json"

# what grows with a run's length, compressed once nothing appends to it any more (after the
# reports): the timeline (a Redis probe samples every node 100 times a second: ~750 MB of plain
# JSON an hour here, ~15x smaller packed) and the kept final reads
PACKED = ("timeline.jsonl", "final-read.jsonl", "final-read-source.jsonl")


def pack(run_dir: Path) -> None:
    """Compress a run's growing files into ``….zst`` (every reader takes either form)."""
    for name in PACKED:
        if (run_dir / name).exists():
            compress_file(run_dir / name)


def read_result(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "result.json").read_text())
    except FileNotFoundError:
        raise ChaosError(f"{run_dir} has no result.json; give the directory of a run") from None
    except ValueError as exc:
        raise ChaosError(f"{run_dir / 'result.json'} is not valid JSON ({exc})") from None


def copy_node_files(specs: list[Any], run: Run, names: tuple[str, ...]) -> None:
    """Each node's log and config into ``<run>/nodes/<name>/``."""
    for spec in specs:
        dest = run.dir / "nodes" / spec.name
        dest.mkdir(parents=True, exist_ok=True)
        for name in (spec.log_file, *names):
            src = spec.dir / name
            if src.exists():
                (dest / name).write_bytes(src.read_bytes())
