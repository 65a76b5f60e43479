"""The charts of a MySQL/MariaDB replication run: operations by kind, replication lag, and (when
the run watched them) each server's role."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from reports.charts.common import draw_latency, draw_operations
from reports.charts.series import lag_series
from reports.charts.style import COLORS, Chart, _decorate, _figure, _save, _true_spans


def draw_lag(run_dir: Path, result: dict[str, Any], samples: Iterable[dict[str, Any]]) -> list[Chart]:
    s = lag_series(samples)
    if not s["t"]:
        return []
    fig, ax = _figure()
    nan = float("nan")
    mysql = "mariadb" not in str((result.get("topology") or {}).get("server_version", "mariadb")).lower()
    sbm = "Seconds_Behind_Source" if mysql else "Seconds_Behind_Master"
    ax.plot(s["t"], [nan if v is None else v for v in s["heartbeat"]], color="#2c6fbb", lw=1.2,
            label="heartbeat lag")
    ax.plot(s["t"], [nan if v is None else v for v in s["sbm"]], color="#e49b0f", lw=1.0, label=sbm)
    nulls = [t for t, null in zip(s["t"], s["sbm_null"], strict=True) if null]
    if nulls:  # NULL is an answer (a thread stopped), not a missing sample: shown where it was given
        ax.plot(nulls, [0.0] * len(nulls), ls="none", marker="|", ms=8, color="#e49b0f", alpha=0.7,
                label=f"{sbm} = NULL")
    if any(v is not None for v in s["applier"]):
        ax.plot(s["t"], [nan if v is None else v for v in s["applier"]], color="#3a9d5d", lw=1.0, ls="--",
                label="applier lag (performance_schema)")
    ax.axhline(1.0, color="#c33", lw=0.8, ls=":", label="caught up below 1 s")
    ax.set_ylabel("seconds")
    ax.legend(loc="upper right", fontsize=8)
    _decorate(ax, result, [])
    charts = [_save(fig, run_dir, "lag", f"Replication lag: heartbeat (pt-heartbeat), {sbm}"
                                   + (", performance_schema's apply lag" if any(v is not None for v in s["applier"])
                                      else ""))]
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


def mysql_role_series(lines: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
    """roles.jsonl → per node: times, up, writable (up and not read_only), semi-sync on (as a
    source says it). Lines a crash cut short are skipped."""
    out: dict[str, dict[str, list[Any]]] = {}
    for line in lines:
        try:
            s = json.loads(line)
        except ValueError:
            continue
        node = out.setdefault(s.get("node", "?"), {"t": [], "up": [], "writable": [], "semi_sync": []})
        node["t"].append(s["time"])
        node["up"].append(bool(s.get("up")))
        node["writable"].append(bool(s.get("up")) and s.get("read_only") is False)
        node["semi_sync"].append(bool(s.get("up")) and s.get("semi_sync") is True)
    return out


def draw_mysql_roles(run_dir: Path, result: dict[str, Any]) -> Chart | None:
    path = run_dir / "roles.jsonl"
    if not path.exists():
        return None
    with path.open() as lines:
        series = mysql_role_series(lines)
    if not series:
        return None
    fig, ax = _figure(2.4)
    rows = []
    for name in sorted(series):
        s = series[name]
        rows += [(f"{name} up", s["t"], s["up"], COLORS["replica"]),
                 (f"{name} writable", s["t"], s["writable"], COLORS["ok"]),
                 (f"{name} semi-sync", s["t"], s["semi_sync"], "#8e6bbf")]
    for i, (_, t, values, color) in enumerate(rows):
        ax.broken_barh(_true_spans(t, values), (i - 0.4, 0.8), color=color)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    _decorate(ax, result, [])
    return _save(fig, run_dir, "server_roles", "Each server's role: up, writable (read_only off), semi-sync in force "
                                         "(a bar: yes)")


def mysql_replication_charts(run_dir: Path, result: dict[str, Any], probes: Iterable[dict[str, Any]],
                             log_times: list[float]) -> list[Callable[[], Any]]:
    return [lambda: draw_operations(run_dir, result), lambda: draw_lag(run_dir, result, probes),
            lambda: draw_mysql_roles(run_dir, result), lambda: draw_latency(run_dir, result, [])]


# the charts of each topology kind, after the throughput every run has
