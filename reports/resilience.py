"""The resilience report of a suite (`chaos suite`): ``resilience.md`` and ``resilience.html`` from
the scorecard (``resilience.json``, :mod:`chaos.resilience`): a row per fault with the runs
behind it, the SLOs met and missed, findings, and recommendations each with its number."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from chaos.engine.report_writers import SuiteReport

COLUMNS = ["fault", "passed", "failure rate ≤", "write outage median", "worst", "interval", "recovery median",
           "acknowledged writes lost", "SLOs met"]


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f} s"


def cells(r: dict[str, Any]) -> list[str]:
    outage, recovery = r.get("write_outage_seconds"), r.get("recovery_seconds")
    slos = "; ".join(f"{s['slo']}: {s['met']}/{s['of']}" for s in r.get("slos") or []) or "–"
    return [
        r["name"] + ("" if r["name"] == r["scenario"] else f" ({r['scenario']})"),
        "not run" if not r["runs"] else
        f"{r['passed']} of {r['runs']}" + (f" (of {r['planned']} planned)" if r["runs"] < r["planned"] else ""),
        "–" if r.get("failure_rate_upper") is None else f"{r['failure_rate_upper']:.0%}",
        _s((outage or {}).get("median")), _s((outage or {}).get("worst")),
        "–" if not outage else f"{outage['interval'][0]:.2f}–{outage['interval'][1]:.2f} s ({outage['interval_kind']})",
        "–" if not recovery else f"{recovery['median']:.2f} s ({r['recovery_what']})",
        str(r["lost_acknowledged"]), slos,
    ]


def state_of(card: dict[str, Any]) -> str:
    """Complete; or why not: faults refused before any fault (listed), or an interruption."""
    if card["complete"]:
        return "complete"
    refused = {x["name"] for x in card.get("skipped") or [] if x["why"].startswith("refused")}
    short = {r["name"] for r in card["rows"] if r["runs"] < r["planned"]}
    if refused and short <= refused:
        return (f"INCOMPLETE: {len(refused)} fault(s) refused, listed under the scorecard; `chaos suite --resume` "
                "runs them once fixed")
    return "INCOMPLETE (interrupted; `chaos suite --resume` finishes it)"


def markdown(card: dict[str, Any]) -> str:
    state = state_of(card)
    lines = [f"# Resilience report: {card.get('suite') or card.get('source')}", "",
             f"{card['passed']} of {card['runs']} runs passed ({card['planned']} planned; {state}). Source: "
             f"{card.get('source')}.", "", "## Scorecard", "",
             "The write outage is the longest time without an acknowledged write to the data the fault hit; "
             "\"failure rate ≤\" is the one-sided 95 % upper bound on the share of runs that fail, from k of n.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in card["rows"]:
        lines.append("| " + " | ".join(cells(r)) + " |")
    if card.get("skipped"):
        lines += [""] + [f"- Not run: {x['name']} ({x['why']})." for x in card["skipped"]]
    lines += ["", "## Recommendations", ""]
    lines += [f"- **{x['fault']}**: {x['because']}. {x['do'][0].upper() + x['do'][1:]}." for x in card["recommendations"]] \
        or ["- None: no measurement of this suite calls for a change."]
    findings = [(r["name"], f) for r in card["rows"] for f in r.get("findings") or []]
    if findings:
        lines += ["", "## Findings", ""] + [f"- {name}: {f}" for name, f in findings]
    lines += ["", "## Runs", ""]
    for r in card["rows"]:
        lines.append(f"- {r['name']}: " + (", ".join(f"[{d}]({d}/report.md)" for d in r["run_dirs"]) or "none"))
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """Escaped, with `backticked` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def page(card: dict[str, Any]) -> str:
    e = html.escape
    state = state_of(card)
    verdict = "all passed" if card["passed"] == card["runs"] == card["planned"] else \
        f"{card['runs'] - card['passed']} failed" if card["passed"] < card["runs"] else "incomplete"
    rows = []
    for r in card["rows"]:
        row = cells(r)
        bad = r["passed"] < r["runs"] or r["lost_acknowledged"]
        links = " ".join(f"<a href='{e(d)}/report.html'>{i + 1}</a>" for i, d in enumerate(r["run_dirs"]))
        rows.append(f"<tr class='{'bad' if bad else ''}'>" + "".join(f"<td>{e(c)}</td>" for c in row)
                    + f"<td>{links}</td></tr>")
    recs = "".join(f"<li><b>{e(x['fault'])}</b>: {_code(x['because'])}. {_code(x['do'][0].upper() + x['do'][1:])}.</li>"
                   for x in card["recommendations"]) or "<li>None: no measurement of this suite calls for a change.</li>"
    findings = "".join(f"<li>{e(r['name'])}: {e(f)}</li>" for r in card["rows"] for f in r.get("findings") or [])
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>resilience report</title><style>"
            "body{font-family:sans-serif;max-width:1300px;margin:1.5em auto;padding:0 1em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;"
            "vertical-align:top}th{background:#f6f6f6;font-weight:normal}tr.bad td{background:#fdecea}"
            "td:nth-child(n+2):nth-child(-n+6){white-space:nowrap}"
            ".banner{padding:.5em 1em;color:#fff;background:" + ("#2a7d3f" if verdict == "all passed" else "#c33")
            + "}</style></head><body>"
            f"<h1 class='banner'>Resilience report: {e(str(card.get('suite') or card.get('source')))} — {e(verdict)}</h1>"
            f"<p>{card['passed']} of {card['runs']} runs passed ({card['planned']} planned; {_code(state)}). Source: "
            f"{e(str(card.get('source')))}. The write outage is the longest time without an acknowledged write to the "
            "data the fault hit; \"failure rate ≤\" is the one-sided 95 % upper bound on the share of runs that fail."
            "</p><h2>Scorecard</h2><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in COLUMNS) + "<th>runs</th></tr>"
            + "".join(rows) + "</table>"
            + "".join(f"<p>Not run: {e(x['name'])} ({e(x['why'])}).</p>" for x in card.get("skipped") or [])
            + "<h2>Recommendations</h2><ul>" + recs + "</ul>"
            + (f"<h2>Findings</h2><ul>{findings}</ul>" if findings else "") + "</body></html>\n")


def write(parent: Path, card: dict[str, Any]) -> list[Path]:
    md, page_file = parent / "resilience.md", parent / "resilience.html"
    md.write_text(markdown(card))
    page_file.write_text(page(card))
    return [md, page_file]


SUITE = SuiteReport(write)
