"""The operation history every verdict is computed from (Jepsen's model).

Every client operation is two records: an ``invoke`` and its completion, which is ``ok`` (it
happened), ``fail`` (it certainly did not happen) or ``info`` (unknown: e.g. a timeout after the
request was sent). Faults are recorded in the same history with ``process == "nemesis"``.
One JSON object per line; ``time`` is seconds since the run started on the monotonic clock
(shared by all processes of the machine), ``wall`` is unix time.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _encode_str
from pathlib import Path
from typing import Any, TextIO

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
COMPLETIONS = (OK, FAIL, INFO)
NEMESIS = "nemesis"
FIELDS = ("index", "time", "wall", "type", "process", "f", "key", "value", "node", "error")


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
    """Records of one JSONL file, in file order; a torn last line (crash mid-write) is skipped."""
    with open(path) as lines:
        for line in lines:
            if not line.endswith("\n"):
                break
            yield Op.from_dict(json.loads(line))


def _line_time(line: str) -> float:
    """The ``time`` of a record as written by :class:`HistoryWriter` (no JSON parse needed)."""
    start = line.index('"time":') + 7
    return float(line[start : line.index(",", start)])


def _complete_lines(path: str | Path) -> Iterator[tuple[float, str]]:
    with open(path) as lines:
        for line in lines:
            if line.endswith("\n"):
                yield _line_time(line), line


def merge_histories(paths: Iterable[str | Path], out: str | Path) -> int:
    """Merge shards (each sorted by time) into one file ordered by time, renumbering ``index``.

    Lines are moved as text (only their time is read), so merging millions of records is cheap.
    Returns the number of records written."""
    count = 0
    with open(out, "w") as dest:
        for _, line in heapq.merge(*(_complete_lines(p) for p in paths), key=lambda item: item[0]):
            dest.write(f'{{"index":{count},{line[line.index(",") + 1 :]}')
            count += 1
    return count


def pair(history: Iterable[Op]) -> Iterator[tuple[Op, Op | None]]:
    """(invoke, completion) for every client operation, in completion order, then the ones
    never completed (completion ``None``). Nemesis records pass through as (op, op).

    Raises :class:`HistoryError` when a process invokes while it still has an operation in
    flight, or completes an operation it never invoked."""
    in_flight: dict[Any, Op] = {}
    for op in history:
        if op.process == NEMESIS:
            yield op, op
        elif op.type == INVOKE:
            if op.process in in_flight:
                raise HistoryError(
                    f"process {op.process} invoked op {op.index} while op "
                    f"{in_flight[op.process].index} was still in flight"
                )
            in_flight[op.process] = op
        else:
            invoke = in_flight.pop(op.process, None)
            if invoke is None:
                raise HistoryError(f"process {op.process} completed op {op.index} it never invoked")
            yield invoke, op
    for invoke in in_flight.values():
        yield invoke, None
