"""The charts' series: pure functions of a run's files (result.json, history, timeline, reshard
log), unit-tested on small synthetic run directories; drawing is elsewhere."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from chaos.measure_context import (
    RedisFailoverContext,
    ReplicationContext,
    ScaleContext,
    SoakContext,
    SourceKillContext,
    load_context,
)


class _Records:
    """A JSON-lines file, read afresh each time it is iterated (a timeline can hold hundreds of
    thousands of samples: charts stream it rather than hold it); ``keep`` filters records."""

    def __init__(self, path: Path, keep: Callable[[dict[str, Any]], bool] = lambda r: True):
        self.path, self.keep = path, keep

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (r for r in _jsonl(self.path) if self.keep(r))


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON-lines file (a history: plain or zstd, see chaos.history.records)."""
    from chaos.history import records

    try:
        yield from records(path)
    except FileNotFoundError:
        return


def episode_bands(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A soak's episodes as bands of the time axis: from the injection to the cluster's steady
    state again (or the heal, or the end of the load when it never was), with the episode's
    index, kind, outcome and, for the worst one, ``worst``."""
    ctx, m = load_context(result), result.get("measurements") or {}
    if not isinstance(ctx, SoakContext):
        return []
    measured = {e["index"]: e for e in m.get("episodes") or []}
    end = ctx.load_end_t if ctx.load_end_t is not None else max((r[0] for r in result.get("per_second") or []),
                                                                  default=0.0)
    out = []
    for e in ctx.episodes:
        if e.get("injected_t") is None:  # skipped: nothing was injected
            continue
        stop = e.get("steady_t") or e.get("heal_t") or end
        out.append({"index": e["index"], "kind": e["kind"], "start": e["injected_t"], "end": max(stop, e["injected_t"]),
                    "outcome": (measured.get(e["index"]) or {}).get("outcome", "unknown"),
                    "worst": e["index"] == m.get("worst_episode")})
    return out


def worst_episode_window(result: dict[str, Any]) -> dict[str, Any] | None:
    """The soak's worst episode (the longest write outage) up close: its record, the slot range
    of the master it hit (``lo``, ``hi``: whose writes to show) and a window around it."""
    ctx, m = load_context(result), result.get("measurements") or {}
    if not isinstance(ctx, SoakContext) or m.get("worst_episode") is None:
        return None
    live = next((e for e in ctx.episodes if e["index"] == m["worst_episode"]), None)
    measured = next((e for e in m.get("episodes") or [] if e["index"] == m["worst_episode"]), None)
    if live is None or measured is None or live.get("injected_t") is None:
        return None
    group = next((g for g in ctx.groups if g[2] == live.get("group")), None)
    t0 = live["injected_t"]
    after = max(6.0, (measured.get("failover_seconds") or 0) + 3.0,
                (measured.get("write_unavailable_seconds") or 0) + 3.0,
                (live.get("heal_t") or t0) - t0 + 2.0)
    return {"episode": {**live, **measured}, "lo": group[0] if group else 0, "hi": group[1] if group else 16383,
            "group": live.get("group") or "every slot", "start": t0 - 2.0, "end": t0 + after}


def markers(result: dict[str, Any]) -> list[tuple[float, str]]:
    """(run seconds, label) of the moments worth a vertical line (a soak's episodes are bands,
    see :func:`episode_bands`, not lines)."""
    m, ctx = result.get("measurements") or {}, load_context(result)
    out: list[tuple[float, str]] = []
    if isinstance(ctx, SoakContext):
        return out
    for f in result.get("faults") or []:
        if f.get("injected_at") is not None:
            out.append((f["injected_at"], f["kind"]))
        if f.get("healed_at") is not None:
            out.append((f["healed_at"], "heal"))
    if isinstance(ctx, RedisFailoverContext):
        if ctx.fault_t is not None and isinstance(m.get("failover_seconds"), int | float):
            out.append((ctx.fault_t + m["failover_seconds"], "promoted"))
        if ctx.heal_t is not None and isinstance(m.get("rejoin_seconds"), int | float):
            out.append((ctx.heal_t + m["rejoin_seconds"], "rejoined"))
    if isinstance(ctx, ReplicationContext) and ctx.restart_t is not None \
            and isinstance(m.get("catchup_seconds"), int | float):
        out.append((ctx.restart_t + m["catchup_seconds"], "caught up"))
    if isinstance(ctx, SourceKillContext):
        if ctx.writable_t is not None:
            out.append((ctx.writable_t, "promoted"))
        if ctx.link_t is not None:
            out.append((ctx.link_t, "cut"))
        if isinstance(m.get("semi_sync_fallback_t"), int | float):
            out.append((m["semi_sync_fallback_t"], "async"))
        caught = (ctx.rejoined or {}).get("caught_up_t")
        if isinstance(caught, int | float):
            out.append((caught, "rejoined"))
    if isinstance(ctx, ScaleContext):
        for at, label in ((ctx.migration_start_t, "migration"), (ctx.migration_end_t, "migrated")):
            if at is not None:
                out.append((at, label))
    return sorted(out)


def throughput_series(result: dict[str, Any]) -> dict[str, list[float]]:
    rows = result.get("per_second") or []
    return {"t": [r[0] for r in rows], "ok": [r[1] for r in rows], "fail": [r[2] for r in rows],
            "info": [r[3] for r in rows]}


def operations_series(history: Path) -> dict[str, dict[int, int]]:
    """Acknowledged operations per second, by kind (insert, read, update, write, incr)."""
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for op in _jsonl(history):
        if op["process"] != "nemesis" and op["type"] == "ok":
            out[op["f"]][int(op["time"])] += 1
    return out


def latency_series(history: Path, bucket: float = 0.1) -> dict[str, Any]:
    """p50 / p99 / max of acknowledged operations per ``bucket`` seconds, and every failed or
    indeterminate operation as a dot (completion time, latency ms), from the history (a run
    keeps the series its checkers' pass gathered in ``latency-series.json``: see
    :func:`stored_latency_series`). Completions whose invoke is missing are skipped."""
    from chaos.checkers.latency import LatencySeries

    series = LatencySeries(bucket)
    invokes: dict[Any, float] = {}
    for op in _jsonl(history):
        if op["process"] == "nemesis":
            continue
        if op["type"] == "invoke":
            invokes[op["process"]] = op["time"]
            continue
        started = invokes.pop(op["process"], None)
        if started is not None:
            series.add(op["type"], op["time"], (op["time"] - started) * 1000.0)
    return series.result()


def stored_latency_series(run_dir: Path) -> dict[str, Any]:
    """The series the run's checkers gathered (``latency-series.json``), or, for runs that have
    none, computed from the history."""
    from chaos.runner import LATENCY_SERIES_FILE

    try:
        return json.loads((run_dir / LATENCY_SERIES_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return latency_series(run_dir / "history.jsonl")


def zoom_series(history: Path, start: float, end: float, f: str = "write", bucket: float = 0.1,
                keys: Any = None) -> dict[str, list[float]]:
    """Completions of ``f`` operations per ``bucket`` in [start, end], by outcome. Only the
    records of the window are parsed: a history is in time order, so the pass stops at ``end``."""
    from chaos.history import line_time, open_lines, parse_json

    n = max(1, int(math.ceil((end - start) / bucket)))
    counts = {k: [0] * n for k in ("ok", "fail", "info")}

    def window() -> Iterator[dict[str, Any]]:
        with open_lines(history, binary=True) as lines:
            for line in lines:
                if not line.endswith(b"\n"):
                    return
                t = line_time(line)
                if t >= end:
                    return
                if t >= start:
                    yield parse_json(line)

    for op in window():
        if op["process"] == "nemesis" or op["type"] == "invoke" or op["f"] != f:
            continue
        if start <= op["time"] < end and (keys is None or keys(op["key"])):
            counts[op["type"]][int((op["time"] - start) / bucket)] += 1
    return {"t": [start + i * bucket for i in range(n)], **counts}


def role_series(samples: Iterable[dict[str, Any]]) -> dict[str, list[tuple[float, float, str]]]:
    """Per node: (start, end, state) segments, state one of master, replica, down, failing
    (flagged by another node), cluster_fail. Two streamed passes over ``samples`` (a list or a
    re-iterable timeline): the failing flags, then each node's samples in their time order."""
    flagged: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        if s.get("up"):
            for a in s.get("failing", []):
                flagged[a].append(s["time"])
    for times in flagged.values():
        times.sort()
    out: dict[str, list[tuple[float, float, str]]] = {}
    pending: dict[str, dict[str, Any]] = {}
    addresses: dict[str, Any] = {}

    def close(node: str, s: dict[str, Any], end: float) -> None:
        segments = out.setdefault(node, [])
        if not s.get("up"):
            state = "down"
        elif s.get("cluster_state") == "fail":
            state = "cluster_fail"
        else:
            state = s.get("role") or "down"
        if state in ("master", "replica") and _any_between(flagged.get(addresses[node], []), s["time"] - 0.1, end):
            state = "failing"
        if segments and segments[-1][2] == state and abs(segments[-1][1] - s["time"]) < 1.0:
            segments[-1] = (segments[-1][0], end, state)
        else:
            segments.append((s["time"], end, state))

    for s in samples:
        node = s["node"]
        addresses.setdefault(node, s.get("address"))
        if node in pending:
            close(node, pending[node], s["time"])
        pending[node] = s
    for node, s in pending.items():
        close(node, s, s["time"] + 0.01)
    return {node: out[node] for node in sorted(out, key=_node_order)}


def _node_order(name: str) -> tuple[str, int]:
    prefix, _, number = name.rpartition("-")
    return (prefix, int(number)) if number.isdigit() else (name, 0)


def _any_between(sorted_times: list[float], lo: float, hi: float) -> bool:
    import bisect

    i = bisect.bisect_left(sorted_times, lo)
    return i < len(sorted_times) and sorted_times[i] <= hi


def offset_gap_series(samples: Iterable[dict[str, Any]], bucket: float = 0.1) -> dict[str, dict[str, list[float]]]:
    """Per replica (``replica ← master``): the master's offset minus the replica's, per bucket."""
    offsets: dict[str, dict[int, int]] = defaultdict(dict)
    follows: dict[str, dict[int, str]] = defaultdict(dict)
    for s in samples:
        if not s.get("up"):
            continue
        b = int(s["time"] / bucket)
        offsets[s["address"]][b] = s.get("offset", 0)
        if s.get("role") == "replica" and s.get("master"):
            follows[s["address"]][b] = s["master"]
    out = {}
    for replica, by_bucket in follows.items():
        t, gap = [], []
        masters = sorted(set(by_bucket.values()), key=list(by_bucket.values()).count)
        last_master: dict[str, int] = {}
        for b in sorted(set(by_bucket) | {x for m in set(by_bucket.values()) for x in offsets.get(m, {})}):
            for m in set(by_bucket.values()):
                if b in offsets.get(m, {}):
                    last_master[m] = offsets[m][b]
            master = by_bucket.get(b)
            if master and master in last_master and b in offsets[replica]:
                t.append(b * bucket)
                gap.append(max(0, last_master[master] - offsets[replica][b]))
        if t:
            out[f"{replica} ← {masters[-1]}"] = {"t": t, "gap": gap}
    return out


def lag_series(samples: Iterable[dict[str, Any]]) -> dict[str, list[Any]]:
    """Heartbeat lag and Seconds_Behind_Master over time (None kept: drawn as a gap)."""
    seq = sorted((s for s in samples if s.get("source", "probe") == "probe"), key=lambda s: s["time"])
    return {"t": [s["time"] for s in seq],
            "heartbeat": [s.get("heartbeat_lag") if s.get("up") else None for s in seq],
            "sbm": [s.get("seconds_behind_master") if s.get("up") else None for s in seq],
            # the replica answered and said NULL (a replication thread stopped), not "no sample"
            "sbm_null": [bool(s.get("up")) and s.get("seconds_behind_master") is None for s in seq],
            # drawn only while the applier applies (a stopped one keeps its last transaction's lag)
            "applier": [s.get("applier_lag") if s.get("up") and (s.get("applied_ago") or 0) < 0.5 else None
                        for s in seq],
            "up": [bool(s.get("up")) for s in seq],
            "io": [s.get("io_thread") == "Yes" for s in seq], "sql": [s.get("sql_thread") == "Yes" for s in seq],
            "errors": [bool(s.get("last_errno")) for s in seq]}


def slots_series(result: dict[str, Any], reshard: Path) -> dict[str, Any]:
    """Slots per master over time, from the topology before and every slot moved."""
    from chaos.topology.redis_info import parse_slot_ranges

    counts: dict[str, int] = {}
    for row in (result.get("topology") or {}).get("before") or []:
        if row.get("role") == "master":
            counts[row["address"]] = sum(hi - lo + 1 for lo, hi in parse_slot_ranges(row.get("slots") or ""))
    t = [0.0]
    series: dict[str, list[int]] = {a: [n] for a, n in counts.items()}
    moved = sorted(_jsonl(reshard), key=lambda x: x["time"])
    done = []
    for i, m in enumerate(moved):
        for address in (m["source"], m["target"]):
            if address not in series:
                series[address] = [0] * len(t)
        counts[m["source"]] = counts.get(m["source"], 0) - 1
        counts[m["target"]] = counts.get(m["target"], 0) + 1
        t.append(m["time"] + m["seconds"])
        for address in series:
            series[address].append(counts.get(address, 0))
        done.append(i + 1)
    if moved:
        t[0] = moved[0]["time"]
    return {"t": t, "masters": series, "moved": [0, *done]}


