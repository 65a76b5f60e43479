"""The charts of every run: throughput, latency, operations by kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.charts.series import operations_series, stored_latency_series, throughput_series
from reports.charts.style import COLORS, Chart, _decorate, _figure, _save


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


