"""`chaos report compare RUN_DIR...`: runs grouped by a label or by the settings that differ,
each measurement per group (n, median, an interval), every group against the baseline (change
of the median, exact Mann–Whitney p; pass/fail and lost-write runs as k of n with an upper bound
on the rate and Fisher's exact test), a terminal table, and an HTML page of dots and aligned
throughput curves. A regression beyond the threshold exits 1, like a CI gate."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.engine.report_writers import RunComparison
from chaos.measure_context import load_context
from chaos.stats import failure_rate_upper, fisher_p, mann_whitney_p, median, median_interval

IGNORED = {"out", "seed", "label", "slo", "metrics_port", "pushgateway", "keep", "repeat"}
ALPHA = 0.05


def higher_is_better(name: str) -> bool:
    return "per_second" in name or name.startswith("ops_per") or name in {"ops.ok", "knee_ops_per_master"}


@dataclass
class Run:
    dir: Path
    result: dict[str, Any]
    episode: int | None = None  # one episode of a soak, compared as a run of its own

    @property
    def scenario(self) -> str:
        return self.result.get("scenario", "?")

    def value(self, key: str) -> Any:
        if key in ("scenario", "backend"):
            return self.result.get(key)
        return (self.result.get("config") or {}).get(key)


@dataclass
class Comparison:
    groups: dict[str, list[Run]]
    baseline: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    legend: dict[str, str] = field(default_factory=dict)  # a group's short name → the settings that define it


SHORT = 40  # a group name longer than this is shortened, its settings said once in the legend
WIDE = 120  # a terminal table wider than this is printed a measurement at a time


def load_runs(dirs: Sequence[str | Path]) -> list[Run]:
    from chaos.engine import read_result

    runs = []
    for d in dirs:
        run = Run(Path(d), read_result(Path(d)))
        runs += [run, *episode_runs(run)]
    return runs


EPISODE_FIGURES = ("failover_seconds", "write_unavailable_seconds", "rejoin_seconds", "steady_seconds", "lost_writes")


def episode_runs(run: Run) -> list[Run]:
    """A soak's episodes, each as a run of scenario ``soak:KIND`` with the episode's figures under
    the single-fault scenarios' names, so the failovers of one soak compare with separate
    master-kill runs (``--group-by scenario``); passed when the episode was ok. Episodes under
    two faults at once (``--overlap``) are ``soak:KIND+overlap``, a condition of their own."""
    if run.scenario != "soak":
        return []
    out = []
    episodes = (run.result.get("measurements") or {}).get("episodes") or []
    # an episode that started during another, and the one it started during, ran under two faults
    doubled = {e["index"] for e in episodes if e.get("overlaps")} | {e["overlaps"] for e in episodes if e.get("overlaps")}
    for e in episodes:
        if e.get("skipped"):
            continue
        figures = {k: e[k] for k in EPISODE_FIGURES if isinstance(e.get(k), int | float)}
        scenario = f"soak:{e['kind']}" + ("+overlap" if e["index"] in doubled else "")
        out.append(Run(run.dir, {"scenario": scenario, "run_id": f"{run.result.get('run_id')}#{e['index']}",
                                 "backend": run.result.get("backend"), "config": run.result.get("config") or {},
                                 "passed": e.get("outcome") == "ok", "measurements": figures,
                                 "context": run.result.get("context") or {}, "per_second": []}, episode=e["index"]))
    return out


def group_runs(runs: list[Run], group_by: str | None = None, label: bool = False) -> dict[str, list[Run]]:
    """By ``--label`` (each run's label), by one setting, or by every setting that differs."""
    if label:
        keys = None
        name = lambda r: str((r.result.get("config") or {}).get("label") or "unlabeled")  # noqa: E731
    else:
        if group_by:
            keys = [group_by]
        else:
            settings = {k for r in runs for k in (r.result.get("config") or {})} - IGNORED
            keys = sorted(k for k in settings | {"scenario", "backend"}
                          if len({json.dumps(r.value(k), sort_keys=True) for r in runs}) > 1)
        name = lambda r: ", ".join(f"{k}={r.value(k)}" for k in keys) or "all"  # noqa: E731
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(name(r), []).append(r)
    return groups


def short_names(names: list[str]) -> dict[str, str]:
    """Full group name → the name shown: itself when every name is short; else the values of
    the differing settings alone (``1000 · redis:7.0``); else letters (A, B, …)."""
    if all(len(n) <= SHORT for n in names):
        return {n: n for n in names}
    values = {n: " · ".join(part.partition("=")[2] or part for part in n.split(", ")) for n in names}
    if all(len(v) <= SHORT for v in values.values()) and len(set(values.values())) == len(names):
        return values
    letters = [chr(ord("A") + i % 26) * (1 + i // 26) for i in range(len(names))]
    return dict(zip(names, letters))


def settings_of(groups: dict[str, list[Run]]) -> set[str]:
    """Every setting of the runs compared: echoed into measurements (``node_timeout_ms``), it
    defines groups and is never compared as a result."""
    return {k for runs in groups.values() for r in runs for k in (r.result.get("config") or {})}


def numbers(run: Run) -> dict[str, float]:
    """The run's scalar measurements (and ops.ok / ops.fail / ops.info)."""
    m = run.result.get("measurements") or {}
    out = {k: float(v) for k, v in m.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    for k in ("ok", "fail", "info"):
        if isinstance((m.get("ops") or {}).get(k), int):
            out[f"ops.{k}"] = float(m["ops"][k])
    return out


def compare(groups: dict[str, list[Run]], baseline: str | None = None, min_change: float = 0.1) -> Comparison:
    if not groups:
        raise ValueError("nothing to compare")
    baseline = baseline or next(iter(groups))
    c = Comparison(groups, baseline)
    for name, runs in groups.items():
        if len(runs) < 4:
            c.warnings.append(f"group {name!r} has {len(runs)} run(s): below 4 a side no difference can be "
                              "significant (p ≥ 0.10 with 3)")
    settings = settings_of(groups)
    names = sorted({k for runs in groups.values() for r in runs for k in numbers(r)} - settings)
    base_runs = groups[baseline]
    for measurement in names:
        row: dict[str, Any] = {"measurement": measurement, "higher_is_better": higher_is_better(measurement),
                               "scenarios": sorted({r.scenario for runs in groups.values() for r in runs
                                                    if measurement in numbers(r)}), "groups": {}}
        base = [numbers(r)[measurement] for r in base_runs if measurement in numbers(r)]
        for name, runs in groups.items():
            values = [numbers(r)[measurement] for r in runs if measurement in numbers(r)]
            if not values:
                continue
            cell: dict[str, Any] = {"n": len(values), "values": values, "median": median(values)}
            interval = median_interval(values)
            cell["interval"] = list(interval) if interval else [min(values), max(values)]
            cell["interval_kind"] = "95% CI of the median" if interval else "min–max"
            if name != baseline and base:
                cell.update(_versus(measurement, base, values, min_change))
                if cell["verdict"] == "worse":
                    c.regressions.append(f"{measurement}: {name} {cell['change']:+.0%} against {baseline} "
                                         f"(p = {cell['p']:.3f})")
            row["groups"][name] = cell
        c.rows.append(row)
    for label, failed in (("runs_failed", lambda r: not r.result.get("passed")),
                          ("runs_losing_writes", lambda r: (numbers(r).get("lost_writes") or 0) > 0
                           or (numbers(r).get("lost_rows") or 0) > 0
                           or (numbers(r).get("lost_commits") or 0) > 0)):
        row = {"measurement": label, "kind": "count", "groups": {}}
        k0, n0 = sum(1 for r in base_runs if failed(r)), len(base_runs)
        for name, runs in groups.items():
            k, n = sum(1 for r in runs if failed(r)), len(runs)
            cell = {"k": k, "n": n, "upper_bound": round(failure_rate_upper(k, n), 4)}
            if name != baseline:
                p = fisher_p(k, n, k0, n0)
                worse = p < ALPHA and k / n > k0 / n0
                cell.update(p=p, verdict="worse" if worse else "~")
                if worse:
                    c.regressions.append(f"{label}: {k} of {n} in {name} against {k0} of {n0} (p = {p:.3f})")
            row["groups"][name] = cell
        c.rows.append(row)
    return c


def _versus(measurement: str, base: list[float], values: list[float], min_change: float) -> dict[str, Any]:
    b, v = median(base), median(values)
    change = (v - b) / abs(b) if b else (0.0 if v == b else float("inf") if v > b else float("-inf"))
    p = mann_whitney_p(base, values)
    if p >= ALPHA or abs(change) < min_change:
        verdict = "~"
    else:
        up = v > b
        verdict = "better" if up == higher_is_better(measurement) else "worse"
    return {"change": change, "p": p, "verdict": verdict}


def cell_text(row: dict[str, Any], cell: dict[str, Any] | None) -> str:
    """One group's cell of a row, as text: a median with its interval and n (and against the
    baseline: the change, p, the verdict), or k of n runs with the upper bound on the rate."""
    if cell is None:
        return ""
    if row.get("kind") == "count":
        return (f"{cell['k']}/{cell['n']} (≤{cell['upper_bound']:.0%})"
                + (f" {cell['verdict']} p={cell['p']:.3f}" if "verdict" in cell else ""))
    text = f"{_num(cell['median'])} [{_num(cell['interval'][0])}–{_num(cell['interval'][1])}] n={cell['n']}"
    if "verdict" in cell:
        text += f" {_pct(cell['change'])} p={cell['p']:.3f} {cell['verdict']}"
    return text


def render_table(c: Comparison) -> str:
    """The terminal table: a column per group while it fits in :data:`WIDE` columns, else a
    block per measurement with a line per group; the groups' settings once, in a legend."""
    names = list(c.groups)
    lines = [f"baseline: {c.baseline}; groups: " + "; ".join(f"{n} ({len(c.groups[n])} runs)" for n in names)]
    if len(lines[0]) > WIDE or any(short != full for short, full in c.legend.items()):
        lines = [f"baseline: {c.baseline}", "groups:"] + [
            f"  {n} ({len(c.groups[n])} runs)" + (f" = {c.legend[n]}" if c.legend.get(n, n) != n else "")
            for n in names]
    header = ["measurement", *names]
    table = [[row["measurement"], *(cell_text(row, row["groups"].get(n)) for n in names)] for row in c.rows]
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    if sum(widths) + 2 * (len(widths) - 1) <= WIDE:
        lines.append("  ".join(h.upper().ljust(w) for h, w in zip(header, widths)).rstrip())
        lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in table]
    else:  # transposed: as narrow as its longest cell
        width = max(len(n) for n in names)
        for r in table:
            lines.append(r[0])
            lines += [f"  {n.ljust(width)}  {text}" for n, text in zip(names, r[1:]) if text]
    lines += [f"warning: {w}" for w in c.warnings]
    lines += [f"regression: {r}" for r in c.regressions] or ["no regression beyond the threshold"]
    return "\n".join(lines)


def _num(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"


def _pct(change: float) -> str:
    return f"{change:+.0%}" if abs(change) != float("inf") else ("+∞" if change > 0 else "−∞")


def _svg(fig: Any) -> str:
    import re

    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return re.sub(r'\s+xmlns:xlink="[^"]*"', "", text)


def render_html(c: Comparison, out: Path) -> str:
    """One dot per run per measurement, grouped, median marked; throughput curves of every run
    aligned at the fault; links to each run's report.html."""
    import html

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(c.groups)
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>chaos compare</title><style>"
             "body{font-family:sans-serif;max-width:1000px;margin:1.5em auto}svg{width:100%;height:auto}"
             "td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}"
             "table{border-collapse:collapse;margin:.5em 0}th{font-weight:normal;background:#f6f6f6}"
             ".worse{color:#c33;font-weight:bold}.better{color:#2a7d3f}</style></head><body>",
             f"<h1>Comparison of {sum(len(r) for r in c.groups.values())} runs</h1>",
             f"<p>Baseline: <b>{html.escape(c.baseline)}</b>.</p>"]
    parts += [f"<p class='worse'>Regression: {html.escape(r)}</p>" for r in c.regressions]
    parts += [f"<p>Warning: {html.escape(w)}</p>" for w in c.warnings]
    if any(short != full for short, full in c.legend.items()):
        parts.append("<h2>Groups</h2><table><tr><th>group</th><th>runs</th><th>settings</th></tr>"
                     + "".join(f"<tr><td>{html.escape(short)}</td><td>{len(c.groups[short])}</td>"
                               f"<td>{html.escape(full)}</td></tr>" for short, full in c.legend.items()) + "</table>")
    parts.append("<h2>Measurements</h2><p>Each cell: the median [its 95% interval, or min–max] over n runs; against "
                 "the baseline the change, Mann–Whitney's p and the verdict (<span class='worse'>worse</span>, "
                 "<span class='better'>better</span>, ~ not significant). Run counts: k of n with the upper bound "
                 "on the rate, and Fisher's exact p.</p>")
    parts.append("<table><tr><th>measurement</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>")
    for row in c.rows:
        cells = []
        for n in names:
            cell = row["groups"].get(n)
            verdict = (cell or {}).get("verdict")
            cls = f" class='{verdict}'" if verdict in ("worse", "better") else ""
            cells.append(f"<td{cls}>{html.escape(cell_text(row, cell))}</td>")
        parts.append(f"<tr><th>{html.escape(row['measurement'])}</th>{''.join(cells)}</tr>")
    parts.append("</table>")
    fig, ax = plt.subplots(figsize=(9.5, 3), dpi=100)
    for gi, (name, runs) in enumerate(c.groups.items()):
        for r in runs:
            fault = load_context(r.result).reference_t or 0.0
            rows = r.result.get("per_second") or []
            ax.plot([row[0] - fault for row in rows], [row[1] for row in rows], lw=0.8, color=f"C{gi}", alpha=0.7,
                    label=name if r is runs[0] else None)
    ax.axvline(0, color="#555", ls="--", lw=0.8)
    ax.set_xlabel("seconds from the fault")
    ax.set_ylabel("acknowledged ops/s")
    ax.legend(fontsize=8)
    parts += ["<h2>Throughput of every run, aligned at the fault</h2>", _svg(fig)]
    for row in c.rows:
        if row.get("kind") == "count" or len(row["groups"]) == 0:
            continue
        fig, ax = plt.subplots(figsize=(9.5, 0.5 + 0.45 * len(names)), dpi=100)
        for gi, name in enumerate(names):
            cell = row["groups"].get(name)
            if cell is None:
                continue
            ax.scatter(cell["values"], [gi] * cell["n"], s=18, color=f"C{gi}", zorder=3)
            ax.plot([cell["median"]] * 2, [gi - 0.3, gi + 0.3], color="black", lw=2)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.grid(True, axis="x", alpha=0.3)
        verdicts = [f"{n}: {row['groups'][n]['verdict']}" for n in names
                    if n in row["groups"] and "verdict" in row["groups"][n]]
        parts += [f"<h3>{html.escape(row['measurement'])} <small>({', '.join(row['scenarios'])}; "
                  f"{html.escape('; '.join(verdicts))})</small></h3>", _svg(fig)]
    parts.append("<h2>Runs</h2><ul>")
    for name, runs in c.groups.items():
        for r in runs:
            link = Path(_relative(r.dir / "report.html", out.parent))
            shown = r.dir.name + (f" episode {r.episode}" if r.episode is not None else "")
            parts.append(f"<li>{html.escape(name)}: <a href='{html.escape(str(link))}'>{html.escape(shown)}</a> "
                         f"({'passed' if r.result.get('passed') else 'failed'})</li>")
    parts.append("</ul></body></html>")
    return "\n".join(parts)


def _relative(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(path.absolute(), base.absolute())


def compare_dirs(dirs: Sequence[str | Path], out: Path, group_by: str | None = None, label: bool = False,
                 baseline: str | None = None, min_change: float = 0.1) -> tuple[str, bool]:
    """Compare the runs in ``dirs`` (a directory holding runs stands for them all); write the
    HTML page to ``out``. Returns (the terminal table, whether a regression was found)."""
    from chaos.errors import ChaosError
    from reports import suite_compare

    suites = [Path(d) for d in dirs if suite_compare.is_suite(Path(d))]
    if suites:  # two suites: their scorecards row by row
        if len(suites) != 2 or len(list(dirs)) != 2:
            raise ChaosError("give two suite directories to compare their scorecards (or runs, not both)")
        c = suite_compare.compare_suites(*suites)
        out.write_text(suite_compare.render_html(c))
        worse = [r for r in c["rows"] if any(x and x["worse"] for x in (r["write_outage"], r["recovery"]))]
        return suite_compare.render_text(c), bool(worse)
    expanded: list[Path] = []
    for d in map(Path, dirs):
        if (d / "result.json").exists():
            expanded.append(d)
        else:
            inner = sorted(p.parent for p in d.glob("*/result.json"))
            if not inner:
                raise ChaosError(f"{d} holds no run (no result.json in it or in its subdirectories)")
            expanded += inner
    runs = load_runs(expanded)
    full = group_runs(runs, group_by, label)
    shown = short_names(list(full))
    groups = {shown[name]: members for name, members in full.items()}
    if baseline is not None and baseline not in groups:  # the full name, or the short one
        if baseline not in shown:
            raise ChaosError(f"--baseline {baseline!r}: no such group; groups: {', '.join(groups)}")
        baseline = shown[baseline]
    c = compare(groups, baseline, min_change)
    c.legend = {short: name for name, short in shown.items()}
    c_table = render_table(c)
    out.write_text(render_html(c, out))
    return c_table, bool(c.regressions)


COMPARISON = RunComparison(compare_dirs)
