"""Charts of a run (matplotlib, server side), saved beside the reports as SVG (inlined by
report.html) and PNG (linked by report.md). Every chart shares one time axis: seconds of the run,
the phases shaded, markers for the fault, promotion, heal, rejoin or catch-up, and ticks for the
servers' own log events. Dense layers (per-operation dots) are rasterized so files stay small.

Series are built by pure functions (``*_series``) from the run's files, unit-tested on small
synthetic run directories; drawing is separate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chaos.engine.report_writers import RunWriter
from chaos.measure_context import kind_of
from reports.charts.common import draw_latency, draw_operations, draw_throughput
from reports.charts.mysql import draw_lag, mysql_replication_charts
from reports.charts.redis import draw_offsets, draw_roles, draw_slots, draw_zoom, redis_cluster_charts
from reports.charts.series import (
    _Records,
    episode_bands,
    lag_series,
    latency_series,
    markers,
    offset_gap_series,
    operations_series,
    role_series,
    slots_series,
    stored_latency_series,
    throughput_series,
    worst_episode_window,
    zoom_series,
)
from reports.charts.style import CHART_DIR, COLORS, Chart, _decorate, _figure, _save

__all__ = ["CHART_DIR", "COLORS", "Chart", "WRITER", "draw_lag", "draw_latency", "draw_offsets", "draw_operations",
           "draw_roles", "draw_slots", "draw_throughput", "draw_zoom", "episode_bands", "existing", "inline_svg",
           "lag_series",
           "latency_series", "markers", "offset_gap_series", "operations_series", "role_series", "slots_series",
           "stored_latency_series", "throughput_series", "worst_episode_window", "write", "zoom_series",
           "_decorate", "_figure", "_save"]


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
