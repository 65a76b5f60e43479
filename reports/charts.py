"""Charts of a run (matplotlib, server side), saved beside the reports as SVG (inlined by
report.html) and PNG (linked by report.md). Every chart shares one time axis: seconds of the run,
the phases shaded, markers for the fault, promotion, heal, rejoin or catch-up, and ticks for the
servers' own log events. Dense layers (per-operation dots) are rasterized so files stay small.

Series are built by pure functions (``*_series``) from the run's files, unit-tested on small
synthetic run directories; drawing is separate."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.engine.report_writers import RunWriter
from chaos.measure_context import RedisFailoverContext, ReplicationContext, ScaleContext, kind_of, load_context

CHART_DIR = "charts"
COLORS = {"ok": "#2a7d3f", "fail": "#c33", "info": "#e49b0f", "master": "#2c6fbb", "replica": "#7bb662",
          "down": "#999999", "failing": "#e49b0f", "cluster_fail": "#c33"}


@dataclass
class Chart:
    name: str
    title: str
    svg: str  # file names under charts/
    png: str


# -- reading the run ---------------------------------------------------------------------------
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


def markers(result: dict[str, Any]) -> list[tuple[float, str]]:
    """(run seconds, label) of the moments worth a vertical line."""
    m, ctx = result.get("measurements") or {}, load_context(result)
    out = []
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


# -- drawing -------------------------------------------------------------------------------------
def _figure(height: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.5, height), dpi=100)
    ax.grid(True, alpha=0.25)
    return fig, ax


def _decorate(ax: Any, result: dict[str, Any], log_times: list[float], xlim: tuple[float, float] | None = None) -> None:
    phases = load_context(result).phases
    end = max((r[0] for r in result.get("per_second") or []), default=None)
    shades = ["#f2f2f2", "#ffffff"]
    lo, hi = xlim if xlim else (phases[0][1] if phases else 0.0, end if end is not None else 0.0)
    for i, (name, start) in enumerate(phases):
        stop = phases[i + 1][1] if i + 1 < len(phases) else end
        if stop is not None and stop > start:
            ax.axvspan(start, stop, color=shades[i % 2], zorder=0)
            # named where the phase shows, and only if it is wide enough for its name: text is not
            # clipped to the axes, and a 0.2 s phase's name would print over its neighbour's
            shown, until = max(start, lo), min(stop, hi)
            if until - shown >= 0.04 * max(hi - lo, 1e-9):
                ax.text(shown, 1.0, f" {name}", transform=ax.get_xaxis_transform(), fontsize=7, va="top",
                        color="#666")
    for t, label in markers(result):
        ax.axvline(t, color="#555", lw=0.8, ls="--", zorder=1)
        ax.text(t, 0.02, f" {label}", transform=ax.get_xaxis_transform(), rotation=90, fontsize=7, color="#333",
                va="bottom")
    if log_times:
        ax.plot(log_times, [1.0] * len(log_times), "|", color="#777", ms=6, transform=ax.get_xaxis_transform(),
                clip_on=False, zorder=3)
    if xlim:
        ax.set_xlim(*xlim)
    ax.set_xlabel("seconds of the run")


def _save(fig: Any, run_dir: Path, name: str, title: str) -> Chart:
    out = run_dir / CHART_DIR
    out.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(out / f"{name}.svg", format="svg", metadata={"Date": None, "Creator": None})
    fig.savefig(out / f"{name}.png", format="png", dpi=80)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Chart(name, title, f"{CHART_DIR}/{name}.svg", f"{CHART_DIR}/{name}.png")


def draw_throughput(run_dir: Path, result: dict[str, Any], log_times: list[float]) -> Chart | None:
    s = throughput_series(result)
    if not s["t"]:
        return None
    fig, ax = _figure()
    for k in ("ok", "fail", "info"):
        ax.plot(s["t"], s[k], color=COLORS[k], lw=1.4, label=k, drawstyle="steps-pre")
    ax.set_ylabel("operations / s")
    ax.legend(loc="upper right", fontsize=8)
    _decorate(ax, result, log_times)
    return _save(fig, run_dir, "throughput", "Operations per second: acknowledged, failed, indeterminate")


def draw_operations(run_dir: Path, result: dict[str, Any]) -> Chart | None:
    series = operations_series(run_dir / "history.jsonl")
    if not series:
        return None
    fig, ax = _figure()
    for f, counts in sorted(series.items()):
        seconds = sorted(counts)
        ax.plot([t + 1 for t in seconds], [counts[t] for t in seconds], lw=1.2, label=f, drawstyle="steps-pre")
    ax.set_ylabel("acknowledged / s")
    ax.legend(loc="upper right", fontsize=8)
    _decorate(ax, result, [])
    return _save(fig, run_dir, "operations", "Acknowledged operations per second, by kind")


def draw_zoom(run_dir: Path, result: dict[str, Any], log_times: list[float]) -> Chart | None:
    ctx, m = load_context(result), result.get("measurements") or {}
    if not isinstance(ctx, RedisFailoverContext) or ctx.fault_t is None:
        return None
    fault_t = ctx.fault_t
    slots = [tuple(r) for r in ctx.victim_slots]
    from redis.crc import key_slot

    def victim_key(key: str) -> bool:
        slot = key_slot(key.encode())
        return any(lo <= slot <= hi for lo, hi in slots)

    after = max(6.0, (m.get("failover_seconds") or 0) + 3.0, (m.get("write_unavailable_seconds") or 0) + 2.0)
    s = zoom_series(run_dir / "history.jsonl", fault_t - 2.0, fault_t + after, keys=victim_key)
    fig, ax = _figure()
    for k in ("ok", "fail", "info"):
        ax.plot(s["t"], s[k], color=COLORS[k], lw=1.2, label=k, drawstyle="steps-post")
    window = ((m.get("availability") or {}).get("victim") or {}).get("longest_window")
    if window:
        ax.axvspan(window[0], window[1], color=COLORS["fail"], alpha=0.12, zorder=0)
        ax.annotate("", xy=(window[0], 0.93), xytext=(window[1], 0.93), xycoords=("data", "axes fraction"),
                    arrowprops={"arrowstyle": "<->", "color": COLORS["fail"]})
        ax.text((window[0] + window[1]) / 2, 0.95, f"writes unavailable {window[1] - window[0]:.2f} s",
                transform=ax.get_xaxis_transform(), ha="center", fontsize=8, color=COLORS["fail"])
    ax.set_ylabel("writes to the victim's slots / 100 ms")
    ax.legend(loc="center right", fontsize=8)
    _decorate(ax, result, log_times, (fault_t - 2.0, fault_t + after))
    return _save(fig, run_dir, "failover", "The failover up close: writes to the victim's slots per 100 ms")


def draw_latency(run_dir: Path, result: dict[str, Any], log_times: list[float]) -> Chart | None:
    s = stored_latency_series(run_dir)
    if not s["t"]:
        return None
    fig, ax = _figure()
    ax.plot(s["t"], s["max"], color="#bbb", lw=0.8, label="max")
    ax.plot(s["t"], s["p99"], color="#2c6fbb", lw=1.0, label="p99")
    ax.plot(s["t"], s["p50"], color="#222", lw=1.0, label="p50")
    for k in ("fail", "info"):
        if s[k]:
            xs, ys = zip(*s[k])
            ax.scatter(xs, [max(y, 0.01) for y in ys], s=4, color=COLORS[k], label=k, rasterized=True, zorder=4)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.legend(loc="upper right", fontsize=8, ncol=5)
    _decorate(ax, result, log_times)
    return _save(fig, run_dir, "latency", "Latency of acknowledged operations per 100 ms; failed and "
                 "indeterminate operations as dots")


def draw_roles(run_dir: Path, result: dict[str, Any], samples: Iterable[dict[str, Any]],
               log_times: list[float]) -> Chart | None:
    segments = role_series(samples)
    if not segments:
        return None
    fig, ax = _figure(0.45 * len(segments) + 1.2)
    names = list(segments)
    for row, node in enumerate(names):
        for start, end, state in segments[node]:
            ax.broken_barh([(start, max(end - start, 0.01))], (row - 0.4, 0.8), color=COLORS[state])
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=COLORS[k], label=k.replace("_", " ")) for k in
                       ("master", "replica", "failing", "cluster_fail", "down")],
              loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=5, fontsize=8, frameon=False)
    _decorate(ax, result, log_times)
    return _save(fig, run_dir, "roles", "Each node's role as its probe saw it")


def draw_offsets(run_dir: Path, result: dict[str, Any], samples: Iterable[dict[str, Any]],
                 log_times: list[float]) -> Chart | None:
    series = offset_gap_series(samples)
    if not series:
        return None
    fig, ax = _figure()
    for label, s in sorted(series.items()):
        ax.plot(s["t"], [max(g, 0.5) for g in s["gap"]], lw=1.0, label=label)
    ax.set_yscale("log")
    ax.set_ylabel("bytes behind (log)")
    ax.legend(loc="upper right", fontsize=7)
    _decorate(ax, result, log_times)
    return _save(fig, run_dir, "offsets", "Replication offset gap, master − replica")


def draw_lag(run_dir: Path, result: dict[str, Any], samples: Iterable[dict[str, Any]]) -> list[Chart]:
    s = lag_series(samples)
    if not s["t"]:
        return []
    fig, ax = _figure()
    nan = float("nan")
    ax.plot(s["t"], [nan if v is None else v for v in s["heartbeat"]], color="#2c6fbb", lw=1.2,
            label="heartbeat lag")
    ax.plot(s["t"], [nan if v is None else v for v in s["sbm"]], color="#e49b0f", lw=1.0,
            label="Seconds_Behind_Master (gap: NULL)")
    ax.axhline(1.0, color="#c33", lw=0.8, ls=":", label="caught up below 1 s")
    ax.set_ylabel("seconds")
    ax.legend(loc="upper right", fontsize=8)
    _decorate(ax, result, [])
    charts = [_save(fig, run_dir, "lag", "Replication lag: heartbeat (pt-heartbeat) and Seconds_Behind_Master")]
    fig, ax = _figure(2.0)
    rows = [("up", s["up"], COLORS["replica"]), ("IO thread", s["io"], COLORS["replica"]),
            ("SQL thread", s["sql"], COLORS["replica"]), ("errors", s["errors"], COLORS["fail"])]
    for i, (_, values, color) in enumerate(rows):
        spans = _true_spans(s["t"], values)
        ax.broken_barh(spans, (i - 0.4, 0.8), color=color)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    _decorate(ax, result, [])
    charts.append(_save(fig, run_dir, "replica_state", "The replica's state (a bar: yes)"))
    return charts


def _true_spans(t: list[float], values: list[bool]) -> list[tuple[float, float]]:
    spans, start = [], None
    for i, v in enumerate(values):
        if v and start is None:
            start = t[i]
        if not v and start is not None:
            spans.append((start, t[i] - start))
            start = None
    if start is not None and t:
        spans.append((start, t[-1] - start))
    return spans


def draw_slots(run_dir: Path, result: dict[str, Any]) -> Chart | None:
    s = slots_series(result, run_dir / "reshard.jsonl")
    if len(s["t"]) < 2:
        return None
    fig, ax = _figure()
    for address, counts in sorted(s["masters"].items()):
        ax.plot(s["t"], counts, lw=1.2, label=address, drawstyle="steps-post")
    ax.set_ylabel("slots")
    ax.legend(loc="center right", fontsize=7)
    _decorate(ax, result, [])
    return _save(fig, run_dir, "slots", "Slots per master during the migration")


def redis_cluster_charts(run_dir: Path, result: dict[str, Any], probes: Iterable[dict[str, Any]],
                         log_times: list[float]) -> list[Callable[[], Any]]:
    return [lambda: draw_zoom(run_dir, result, log_times), lambda: draw_slots(run_dir, result),
            lambda: draw_latency(run_dir, result, log_times), lambda: draw_roles(run_dir, result, probes, log_times),
            lambda: draw_offsets(run_dir, result, probes, log_times)]


def mysql_replication_charts(run_dir: Path, result: dict[str, Any], probes: Iterable[dict[str, Any]],
                             log_times: list[float]) -> list[Callable[[], Any]]:
    return [lambda: draw_operations(run_dir, result), lambda: draw_lag(run_dir, result, probes),
            lambda: draw_latency(run_dir, result, [])]


# the charts of each topology kind, after the throughput every run has
CHART_SETS = {"redis-cluster": redis_cluster_charts, "mysql-replication": mysql_replication_charts}


def write(run_dir: Path, result: dict[str, Any]) -> list[Chart]:
    """Draw every chart of the run's topology kind; a chart that fails is skipped (side output)."""
    charts: list[Chart] = []
    probes = _Records(run_dir / "timeline.jsonl", lambda s: s.get("source", "probe") == "probe")
    log_times = [e["time"] for e in _Records(run_dir / "timeline.jsonl", lambda e: e.get("source") == "log")]
    chart_set = CHART_SETS.get(kind_of(result), redis_cluster_charts)
    jobs: list[Any] = [lambda: draw_throughput(run_dir, result, log_times), *chart_set(run_dir, result, probes,
                                                                                      log_times)]
    for job in jobs:
        try:
            made = job()
        except Exception as exc:  # a chart is a side output: the report says it is missing
            print(f"chaos: warning: a chart could not be drawn ({type(exc).__name__}: {exc})")
            continue
        charts += made if isinstance(made, list) else ([made] if made else [])
    (run_dir / CHART_DIR).mkdir(exist_ok=True)
    (run_dir / CHART_DIR / "index.json").write_text(json.dumps([c.__dict__ for c in charts]))
    return charts


def existing(run_dir: Path) -> list[Chart]:
    try:
        return [Chart(**c) for c in json.loads((run_dir / CHART_DIR / "index.json").read_text())]
    except (FileNotFoundError, ValueError):
        return []


def inline_svg(run_dir: Path, chart: Chart) -> str:
    """The SVG for inlining in HTML: no XML header, DOCTYPE, metadata or namespace other than SVG's."""
    text = (run_dir / chart.svg).read_text()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns:xlink="[^"]*"', "", text)
    return text


WRITER = RunWriter(write, order=0)  # written before the reports that show the charts
