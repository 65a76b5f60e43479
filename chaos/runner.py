"""Run machinery shared by every scenario: the run directory, the clock, the nemesis history,
phases, Redis load start/stop, history merge and the one-pass analysis.

Data flows one way: scenario → runner → (topology, loadgen, faults, observe) → files → checkers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.checkers import run as run_checkers
from chaos.checkers.availability import AvailabilityChecker
from chaos.checkers.counts import OpCounter
from chaos.checkers.latency import LatencyChecker, LatencySeries
from chaos.checkers.writes import CounterChecker, ReadBatch, WriteSetChecker
from chaos.clients.resp import ClusterClient, RespError
from chaos.errors import ChaosError, StateDirError
from chaos.events import RunEvents
from chaos.history import HISTORY_FILE, NEMESIS, HistoryWriter, merge_histories, read_history
from chaos.state import StateDir
from loadgen.controller import LoadController
from loadgen.mysql_workload import new_id_base
from loadgen.settings import LoadSettings


def utc_stamp(wall: float | None = None) -> str:
    return dt.datetime.fromtimestamp(wall or time.time(), dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_run_dir(scenario: str, out: str | None, base: str = "runs") -> Path:
    path = Path(out) if out else Path(base) / f"{scenario}-{utc_stamp()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if any(path.glob("history*.jsonl")) or (path / "result.json").exists():
            raise ChaosError(f"{path} already holds a run; choose another --out")
        (path / ".write-test").write_text("")
        (path / ".write-test").unlink()
    except OSError as exc:
        raise StateDirError(f"cannot write the run directory {path} ({exc.strerror or exc}); "
                            "choose another with --out") from None
    return path.absolute()


@dataclass
class Run:
    """One run: its directory, clock (``t0`` on time.monotonic()), events and nemesis shard."""

    scenario: str
    dir: Path
    events: RunEvents = field(default_factory=RunEvents)
    t0: float = field(default_factory=time.monotonic)
    wall0: float = 0.0
    phases: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.wall0 = self.wall0 or time.time() - (time.monotonic() - self.t0)
        self.run_id = self.dir.name
        self.nemesis = HistoryWriter(self.dir / "history-nemesis.jsonl", self.t0, self.wall0,
                                     first_index=10**15)

    def elapsed(self, at: float | None = None) -> float:
        return (time.monotonic() if at is None else at) - self.t0

    def wall(self, at: float) -> float:
        return self.wall0 + (at - self.t0)

    def say(self, message: str) -> None:
        self.events.say.fire(elapsed=self.elapsed(), message=message)

    def phase(self, name: str) -> None:
        self.phases.append((name, self.elapsed()))

    def nemesis_op(self, type: str, f: str, value: Any, error: str | None = None) -> float:
        """Record a nemesis op (invoke / ok / fail / info) in the history; returns its monotonic time."""
        at = time.monotonic()
        self.nemesis.record(type, NEMESIS, f, None, value, error=error, at=at)
        self.nemesis.flush()
        return at


def start_load(run: Run, workload: str, users: int, duration: float, rate: float | None = None, seed: int = 0,
               env: dict[str, str] | None = None, workers: int = 1, master_bind: str = "127.0.0.1",
               master_port: int = 5557, state: StateDir | None = None,
               weights: tuple[int, int, int] | None = None, **target: Any) -> LoadController:
    """Start the load processes; ``target`` is ``seeds=[...]`` (redis) or ``mysql={...}``."""
    settings = LoadSettings(workload=workload, run_id=run.run_id, out_dir=str(run.dir), t0=run.t0,
                            wall0=run.wall0, users=users,
                            spawn_rate=min(max(users * 10.0, 100.0), 100.0 * workers),
                            duration=duration, rate=rate, seed=seed, workers=workers,
                            master_bind=master_bind, master_port=master_port, **target)
    if workload == "mysql":  # inserts / reads / updates, with row ids no earlier run took
        settings.write_weight, settings.read_weight, settings.incr_weight = 6, 3, 1
        settings.id_base = new_id_base()
    if weights is not None:  # (writes, reads, increments)
        settings.write_weight, settings.read_weight, settings.incr_weight = weights
    controller = LoadController(settings, on_second=lambda s: run.events.second.fire(**s), env=env, state=state)
    controller.start()
    return controller




def merge_run_history(run: Run) -> Path:
    """history-*.jsonl shards (load processes + nemesis) → history.jsonl.zst ordered by time."""
    run.nemesis.close()
    shards = sorted(run.dir.glob("history-*.jsonl"))
    target = run.dir / HISTORY_FILE
    merge_histories(shards, target)
    for shard in shards:
        shard.unlink()
    return target


LATENCY_SERIES_FILE = "latency-series.json"  # the latency chart's series, gathered in the checkers' pass


@dataclass
class Analysis:
    """Everything the checkers say about a run's history and final read."""

    ops: dict[str, Any]
    writes: dict[str, Any]
    counters: dict[str, Any]
    availability: dict[str, Any]
    latency: dict[str, Any]


def analyze_history(history: Path, read_final: ReadBatch, group: Callable[[Any], str | None],
                    phases: list[tuple[str, float]], write_f: str = "write", extra: tuple[Any, ...] = ()) -> Analysis:
    """One pass over the history feeds every checker; the writes (``write_f`` operations) are
    checked against the final read as the pass goes, a batch of keys at a time, then the
    counters are read. The same pass gathers the latency chart's series, kept beside the history
    (:data:`LATENCY_SERIES_FILE`) so the charts need not read the history again."""
    writes, counters, ops = WriteSetChecker(read_final, write_f), CounterChecker(), OpCounter()
    availability = AvailabilityChecker(group, fs=(write_f,))
    latency, series = LatencyChecker(phases or None), LatencySeries()
    run_checkers(read_history(history), writes, counters, availability, latency, ops, series, *extra)
    try:  # a side output: charts fall back to reading the history
        (history.parent / LATENCY_SERIES_FILE).write_text(json.dumps(series.result(), separators=(",", ":")))
    except OSError:
        pass
    written = writes.result()
    counter_keys = sorted(counters.counters)
    final = dict(zip(counter_keys, read_final(counter_keys))) if counter_keys else {}
    return Analysis(ops.result(), written, counters.result(final), availability.result(), latency.result())


class ClusterFinalRead:
    """The live final read of a Redis Cluster, a batch of keys at a time (see
    :meth:`ClusterClient.read_batch`), over one client kept for the whole read."""

    def __init__(self, seeds: list[str]):
        self.seeds = seeds
        self.client: ClusterClient | None = None

    def __call__(self, keys: list[str]) -> list[Any]:
        try:
            if self.client is None:
                self.client = ClusterClient(self.seeds, timeout=2.0)
                self.client.refresh()
            return self.client.read_batch(keys)
        except RespError as exc:
            raise ChaosError(f"the final read failed ({exc}); the cluster never answered, so no "
                             "verdict on lost writes can be given") from None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)
