"""What every chart shares: colours, the figure, one time axis with the phases shaded and the
moments marked, saving as SVG (inlined by report.html) and PNG (linked by report.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.measure_context import load_context
from reports.charts.series import episode_bands, markers

CHART_DIR = "charts"
COLORS = {"ok": "#2a7d3f", "fail": "#c33", "info": "#e49b0f", "master": "#2c6fbb", "replica": "#7bb662",
          "down": "#999999", "failing": "#e49b0f", "cluster_fail": "#c33"}
# a soak's episode bands, by fault kind
EPISODE_COLORS = {"kill": "#c33", "pause": "#e49b0f", "partition": "#8e44ad", "stop-replica": "#7bb662",
                  "stale": "#555555"}


@dataclass
class Chart:
    name: str
    title: str
    svg: str  # file names under charts/
    png: str


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
    for band in episode_bands(result):
        if band["end"] < lo or band["start"] > hi:
            continue
        bad = band["outcome"] != "ok"
        ax.axvspan(band["start"], band["end"], color=EPISODE_COLORS.get(band["kind"], "#777"), alpha=0.18, zorder=0,
                   lw=1.2 if bad or band["worst"] else 0, ec=COLORS["fail"] if bad else "#333")
        if hi - lo < 400 or band["worst"] or bad:  # labels of a long soak only where they matter
            ax.text(band["start"], 0.90, f"{'!' if bad else ''}{band['index']}", transform=ax.get_xaxis_transform(),
                    fontsize=6, color=COLORS["fail"] if bad else "#333", clip_on=True)
    for t, label in markers(result):
        ax.axvline(t, color="#555", lw=0.8, ls="--", zorder=1)
        ax.text(t, 0.02, f" {label}", transform=ax.get_xaxis_transform(), rotation=90, fontsize=7, color="#333",
                va="bottom")
    log_times = [t for t in log_times if lo <= t <= hi] if xlim else log_times  # drawn unclipped: only the window's
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


