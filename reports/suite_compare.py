"""Two suites side by side (`chaos report compare SUITE_DIR SUITE_DIR`): the same scorecard, a
row per fault, with the change per row against the first suite and its significance (the write
outage and the recovery: medians, exact Mann–Whitney p; failed runs and runs that lost writes:
k of n, Fisher's exact p), and the settings that differ between the two for that fault — what
made the difference, when a row changed."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from chaos.resilience import LOSSES
from chaos.stats import fisher_p, mann_whitney_p, median

ALPHA = 0.05
IGNORED = {"out", "seed", "label", "slo", "metrics_port", "pushgateway", "keep", "repeat", "matrix", "textfile_dir"}


def is_suite(path: Path) -> bool:
    return (path / "resilience.json").exists() and (path / "suite.json").exists()


def _runs(suite: Path, row: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for d in row.get("run_dirs") or []:
        try:
            out.append(json.loads((suite / d / "result.json").read_text()))
        except (OSError, ValueError):
            continue
    return out


def _values(runs: list[dict[str, Any]], key: str | None) -> list[float]:
    vals = []
    for r in runs:
        v = (r.get("measurements") or {}).get(key or "")
        if isinstance(v, int | float) and not isinstance(v, bool):
            vals.append(float(v))
    return vals


def _settings(runs: list[dict[str, Any]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for r in runs:
        for k, v in (r.get("config") or {}).items():
            if k not in IGNORED:
                found.setdefault(k, set()).add(json.dumps(v, sort_keys=True))
    return found


def _versus(a: list[float], b: list[float]) -> dict[str, Any] | None:
    if not a or not b:
        return None
    ma, mb = median(a), median(b)
    p = mann_whitney_p(a, b)
    change = (mb - ma) / abs(ma) if ma else None
    return {"before": round(ma, 6), "after": round(mb, 6), "change": change, "p": p,
            "significant": p < ALPHA, "worse": p < ALPHA and mb > ma}


def compare_suites(first: Path, second: Path) -> dict[str, Any]:
    """Row by row, the second suite against the first (rows matched by the fault's name)."""
    card_a = json.loads((first / "resilience.json").read_text())
    card_b = json.loads((second / "resilience.json").read_text())
    rows_b = {r["name"]: r for r in card_b["rows"]}
    rows = []
    for ra in card_a["rows"]:
        rb = rows_b.get(ra["name"])
        if rb is None:
            continue
        runs_a, runs_b = _runs(first, ra), _runs(second, rb)
        sa, sb = _settings(runs_a), _settings(runs_b)
        differs = {k: [sorted(json.loads(x) if x != "null" else None for x in sa.get(k, set())),
                       sorted(json.loads(x) if x != "null" else None for x in sb.get(k, set()))]
                   for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k)}
        failed_a = sum(1 for r in runs_a if not r.get("passed"))
        failed_b = sum(1 for r in runs_b if not r.get("passed"))
        losing_a = sum(1 for r in runs_a if any(_values([r], k) and _values([r], k)[0] > 0 for k in LOSSES))
        losing_b = sum(1 for r in runs_b if any(_values([r], k) and _values([r], k)[0] > 0 for k in LOSSES))
        row = {
            "name": ra["name"], "runs": [len(runs_a), len(runs_b)],
            "write_outage": _versus(_values(runs_a, ra.get("write_outage_measurement")),
                                    _values(runs_b, rb.get("write_outage_measurement"))),
            "recovery": _versus(_values(runs_a, ra.get("recovery_measurement")),
                                _values(runs_b, rb.get("recovery_measurement"))),
            "failed": {"before": [failed_a, len(runs_a)], "after": [failed_b, len(runs_b)],
                       "p": fisher_p(failed_b, len(runs_b), failed_a, len(runs_a)) if runs_a and runs_b else None},
            "losing_writes": {"before": [losing_a, len(runs_a)], "after": [losing_b, len(runs_b)],
                              "p": fisher_p(losing_b, len(runs_b), losing_a, len(runs_a))
                              if runs_a and runs_b else None},
            "settings_differ": differs,
        }
        changed = [x for x in (row["write_outage"], row["recovery"]) if x and x["significant"]]
        row["made_the_difference"] = differs if changed else {}
        rows.append(row)
    return {"first": str(first), "second": str(second), "rows": rows,
            "few_runs": [r["name"] for r in rows if min(r["runs"]) < 4]}


def _cmp(x: dict[str, Any] | None) -> str:
    if not x:
        return "–"
    change = "" if x["change"] is None else f" {x['change']:+.0%}"
    mark = " worse" if x["worse"] else " better" if x["significant"] else " ~"
    return f"{x['before']:.2f} → {x['after']:.2f} s{change} p={x['p']:.3f}{mark}"


def _counts(x: dict[str, Any]) -> str:
    p = "" if x["p"] is None else f" p={x['p']:.3f}"
    return f"{x['before'][0]}/{x['before'][1]} → {x['after'][0]}/{x['after'][1]}{p}"


def _differs(d: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {', '.join(map(str, a)) or '–'} → {', '.join(map(str, b)) or '–'}" for k, (a, b) in d.items())


def render_text(c: dict[str, Any]) -> str:
    lines = [f"suites: {c['first']} (before) → {c['second']} (after)"]
    for r in c["rows"]:
        lines += [f"{r['name']} ({r['runs'][0]} → {r['runs'][1]} runs)",
                  f"  write outage  {_cmp(r['write_outage'])}",
                  f"  recovery      {_cmp(r['recovery'])}",
                  f"  runs failed   {_counts(r['failed'])}",
                  f"  losing writes {_counts(r['losing_writes'])}"]
        if r["made_the_difference"]:
            lines.append(f"  made the difference: {_differs(r['made_the_difference'])}")
        elif r["settings_differ"]:
            lines.append(f"  settings differ (no significant change): {_differs(r['settings_differ'])}")
    if c["few_runs"]:
        lines.append(f"warning: fewer than 4 runs a side in {', '.join(c['few_runs'])}: no change there can be "
                     "significant")
    return "\n".join(lines)


def render_html(c: dict[str, Any]) -> str:
    e = html.escape
    head = ["fault", "runs", "write outage", "recovery", "runs failed", "runs losing writes", "what differs"]
    body = []
    for r in c["rows"]:
        worse = any(x and x["worse"] for x in (r["write_outage"], r["recovery"]))
        diff = r["made_the_difference"] or r["settings_differ"]
        body.append(f"<tr class='{'worse' if worse else ''}'><td>{e(r['name'])}</td><td>{r['runs'][0]} → "
                    f"{r['runs'][1]}</td><td>{e(_cmp(r['write_outage']))}</td><td>{e(_cmp(r['recovery']))}</td>"
                    f"<td>{e(_counts(r['failed']))}</td><td>{e(_counts(r['losing_writes']))}</td>"
                    f"<td>{'<b>made the difference:</b> ' if r['made_the_difference'] else ''}{e(_differs(diff))}"
                    "</td></tr>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>suites compared</title><style>"
            "body{font-family:sans-serif;max-width:1300px;margin:1.5em auto;padding:0 1em}table{border-collapse:"
            "collapse}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}"
            "th{background:#f6f6f6;font-weight:normal}tr.worse td{background:#fdecea}td:first-child{white-space:nowrap}"
            "</style></head><body>"
            f"<h1>Two suites compared</h1><p>Before: {e(c['first'])}; after: {e(c['second'])}. Medians with "
            "Mann–Whitney's exact p; run counts with Fisher's exact p; a change is significant at p &lt; 0.05.</p>"
            "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(body) + "</table>"
            + (f"<p>Fewer than 4 runs a side in {e(', '.join(c['few_runs']))}: no change there can be significant.</p>"
               if c["few_runs"] else "") + "</body></html>\n")
