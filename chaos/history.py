"""The operation history every verdict is computed from (Jepsen's model).

Every client operation is two records: an ``invoke`` and its completion, which is ``ok`` (it
happened), ``fail`` (it certainly did not happen) or ``info`` (unknown: e.g. a timeout after the
request was sent). Faults are recorded in the same history with ``process == "nemesis"``.
One JSON object per line; ``time`` is seconds since the run started on the monotonic clock
(shared by all processes of the machine), ``wall`` is unix time.

On disk: while a run goes on, each load process appends plain JSON lines to its own shard
(``history-<n>.jsonl``: cheap, and readable up to the last complete line after a crash); at the
end the shards are merged by time into ``history.jsonl.zst``, the same JSON lines compressed with
zstd (about 20 bytes a record, against about 180 plain). Run directories of schema 2 and older
hold a plain ``history.jsonl``; every reader here takes either (`chaos history RUN_DIR --jsonl`
prints the plain lines).
"""

from __future__ import annotations

import heapq
import json
import math
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _encode_str
from pathlib import Path
from typing import IO, Any, TextIO

import orjson

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
COMPLETIONS = (OK, FAIL, INFO)
NEMESIS = "nemesis"
FIELDS = ("index", "time", "wall", "type", "process", "f", "key", "value", "node", "error")
HISTORY_FILE = "history.jsonl.zst"  # a finished run's history (schema 3); "history.jsonl" before
# zstd over the JSON lines, measured on a 20-minute soak's 2.2 M records (404 MB plain): level 1
# 48.9 MB in 1.4 s, level 3 51.6 MB, level 6 42.9 MB in 8.3 s on one thread and 4.0 s on two
# (the merge runs once the load has stopped, so both cores are free); level 9 on the timeline
# (246 MB plain) 11.3 MB against 13.0 at level 1. Level 1 had left the soak's run directory at
# 219 MB an hour against a 200 MB target.
ZSTD_LEVEL, ZSTD_THREADS = 6, 2  # the history's merge
PACK_LEVEL = 9  # the timeline and the final reads, once the reports are written


def history_path(path: str | Path) -> Path:
    """The history ``path`` names: a run directory (its compressed history, or the plain one of an
    older run), ``…/history.jsonl`` (or its ``.zst`` when only that exists), or a file itself."""
    path = Path(path)
    if path.is_dir():
        compressed = path / HISTORY_FILE
        return compressed if compressed.exists() else path / "history.jsonl"
    if not path.exists() and path.suffix == ".jsonl" and path.with_name(path.name + ".zst").exists():
        return path.with_name(path.name + ".zst")
    return path


def open_lines(path: str | Path, binary: bool = False) -> IO[Any]:
    """A history file as text (or ``binary``) lines, decompressing a ``.zst`` one as it is read
    (streamed)."""
    path = history_path(path)
    if path.suffix == ".zst":
        import io

        import zstandard

        raw = open(path, "rb")
        stream = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(stream, 1 << 16) if binary else io.TextIOWrapper(stream, encoding="utf-8")
    return open(path, "rb") if binary else open(path)


def parse_json(line: bytes | str) -> Any:
    """One JSON line. orjson parses a history record ~7x faster than the json module (2 against
    15 µs here), which is most of what reading a history costs; Python's json is the fallback
    for what orjson refuses (NaN, Infinity: json writes them)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def records(path: str | Path) -> Iterator[Any]:
    """The records of a JSON-lines file (a history, plain or zstd; a timeline; a final read), in
    file order, streamed; a torn last line (a crash mid-write) is not a record."""
    with open_lines(path, binary=True) as lines:
        for line in lines:
            if not line.endswith(b"\n"):
                break
            yield parse_json(line)


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_str(value)
    if type(value) is int:
        return str(value)
    return json.dumps(value)


class HistoryError(ValueError):
    """The history breaks its own rules (two operations in flight on one process, ...)."""


@dataclass(slots=True)
class Op:
    index: int
    time: float
    wall: float
    type: str
    process: Any  # worker id (str/int) or "nemesis"
    f: str
    key: str | None = None
    value: Any = None
    node: str | None = None
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps({f: getattr(self, f) for f in FIELDS}, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Op:
        return cls(d["index"], d["time"], d["wall"], d["type"], d["process"], d["f"], d.get("key"),
                   d.get("value"), d.get("node"), d.get("error"))


class HistoryWriter:
    """Appends records to a JSONL file. ``t0`` is the run's start on ``time.monotonic()``."""

    def __init__(self, path: str | Path, t0: float, wall0: float | None = None, first_index: int = 0):
        self.path = Path(path)
        self.t0 = t0
        # unix time at t0: given by the orchestrator so every process agrees, or derived here
        self.wall0 = wall0 if wall0 is not None else time.time() - (time.monotonic() - t0)
        self.index = first_index
        self._out: TextIO = open(self.path, "a", buffering=1 << 16)

    def record(self, type: str, process: Any, f: str, key: str | None = None, value: Any = None,
               node: str | None = None, error: str | None = None, at: float | None = None) -> None:
        """Append one record. On the load loop's hot path: formatted directly, no dict, no Op."""
        elapsed = (time.monotonic() if at is None else at) - self.t0
        self._out.write(
            f'{{"index":{self.index},"time":{elapsed:.6f},"wall":{self.wall0 + elapsed:.6f},'
            f'"type":"{type}","process":{_json(process)},"f":{_json(f)},"key":{_json(key)},'
            f'"value":{_json(value)},"node":{_json(node)},"error":{_json(error)}}}\n'
        )
        self.index += 1

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if not self._out.closed:
            self._out.close()

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_history(path: str | Path) -> Iterator[Op]:
    """Records of one history (plain or zstd JSON lines, see :func:`history_path`), in file
    order; a torn last line (crash mid-write) is skipped."""
    from_dict = Op.from_dict
    for record in records(path):
        yield from_dict(record)


def line_time(line: bytes) -> float:
    """The ``time`` of a record as written by :class:`HistoryWriter` (no JSON parse needed)."""
    start = line.index(b'"time":') + 7
    return float(line[start : line.index(b",", start)])


def _merge_key(line: bytes) -> float:
    try:
        return line_time(line)
    except ValueError:  # a line torn by a crash mid-write (the last of its shard): sorts last, dropped
        return math.inf


def merge_histories(paths: Iterable[str | Path], out: str | Path) -> int:
    """Merge shards (each sorted by time) into one file ordered by time, renumbering ``index``;
    zstd-compressed when ``out`` ends in ``.zst``.

    Lines are moved as bytes (only their time is read), so merging millions of records is cheap.
    Returns the number of records written."""
    count = 0
    with ExitStack() as stack:
        shards = [stack.enter_context(open(p, "rb")) for p in paths]
        dest = stack.enter_context(_open_out(Path(out)))
        write = dest.write
        for line in heapq.merge(*shards, key=_merge_key):
            if line.endswith(b"\n"):
                write(b'{"index":%d%s' % (count, line[line.index(b",") :]))
                count += 1
    return count


def _open_out(path: Path, zstd: bool | None = None, level: int = ZSTD_LEVEL) -> IO[bytes]:
    """``path`` opened for writing bytes, zstd-compressed (at ``level``) when ``zstd`` (default:
    when it ends in ``.zst``)."""
    if not (path.suffix == ".zst" if zstd is None else zstd):
        return open(path, "wb", buffering=1 << 20)
    import io

    import zstandard

    raw = open(path, "wb")
    writer: Any = zstandard.ZstdCompressor(level=level, threads=ZSTD_THREADS).stream_writer(raw, closefd=True)
    return io.BufferedWriter(writer, 1 << 20)


def compress_file(path: Path) -> Path:
    """Replace a plain JSON-lines file by its zstd-compressed ``….zst`` (streamed; written under
    a temporary name first, so a crash leaves the plain file whole). Returns the new path."""
    packed = path.with_name(path.name + ".zst")
    partial = path.with_name(path.name + ".zst.partial")
    with open(path, "rb") as src, _open_out(partial, zstd=True, level=PACK_LEVEL) as dest:
        while chunk := src.read(1 << 20):
            dest.write(chunk)
    partial.replace(packed)
    path.unlink()
    return packed


def pair(history: Iterable[Op]) -> Iterator[tuple[Op, Op | None]]:
    """(invoke, completion) for every client operation, in completion order, then the ones
    never completed (completion ``None``). Nemesis records pass through as (op, op).

    Raises :class:`HistoryError` when a process invokes while it still has an operation in
    flight, or completes an operation it never invoked."""
    in_flight: dict[Any, Op] = {}
    begin, end = in_flight.setdefault, in_flight.pop  # the checkers' hot loop: one dict call per record
    for op in history:
        process = op.process
        if process.__class__ is str and process == NEMESIS:  # load processes are numbered
            yield op, op
        elif op.type == INVOKE:
            if begin(process, op) is not op:
                raise HistoryError(
                    f"process {process} invoked op {op.index} while op "
                    f"{in_flight[process].index} was still in flight"
                )
        else:
            invoke = end(process, None)
            if invoke is None:
                raise HistoryError(f"process {process} completed op {op.index} it never invoked")
            yield invoke, op
    for invoke in in_flight.values():
        yield invoke, None
