"""The "what your application would see" table of the client view, shared by report.md and
report.html: one row per client library, from ``measurements.clients``."""

from __future__ import annotations

from typing import Any

HEADER = ["client", "writes to {slots} stopped", "over the harness", "{any} stopped", "longest call",
          "calls > 1 s / 5 s / 30 s", "open at end", "errors it raised", "workers recovered after {since}",
          "acknowledged writes lost", "applied though it raised", "extra INCRs applied"]
EXPLAIN = ("Each library ran in a process of its own with its defaults, paced beside the recorder. "
           "\"Stopped\": the longest time without an acknowledged write (\"before\": the longest such time before "
           "the fault, which the library's pace alone leaves). A call open at the end is one the "
           "application would still be waiting for. \"Extra INCRs\": increments applied more often than the "
           "library acknowledged them (retries).")


def _s(v: Any) -> str:
    return "–" if v is None else f"{v:.2f} s"


def rows(m: dict[str, Any]) -> list[list[str]]:
    out = []
    for c in m.get("clients") or []:
        b = c.get("blocked_calls") or {}
        errors = ", ".join(f"{name} ×{e['count']}" for name, e in (c.get("errors") or {}).items()) or "none"
        rec = c.get("recovery_seconds") or {}
        recovered = (f"{rec.get('recovered', 0)}/{c.get('workers', 0)}"
                     + (f" (median {_s(rec.get('median'))}, max {_s(rec.get('max'))})" if rec.get("recovered") else ""))
        if c.get("failing_5s_after"):
            recovered += f"; {len(c['failing_5s_after'])} without a success 5 s after"
        if c.get("still_failing"):
            recovered += f"; {len(c['still_failing'])} still failing at the end"
        excess = c.get("excess_over_recorder_seconds")
        base = c.get("write_gap_before_fault_seconds")
        out.append([
            f"{c['client']} {c['version']}"
            + (" (vendor: " + ", ".join(f"{k}={v}" for k, v in c["settings"].items()) + ")" if c.get("settings") else "")
            + (f" (crashed: exit code {c.get('exit_code')})" if c.get("died_early") else ""),
            _s(c.get("write_unavailable_seconds")) + ("" if base is None else f" (before: {base:.2f} s)"),
            "–" if excess is None else f"{excess:+.2f} s",
            _s(c.get("write_unavailable_seconds_any_slot")), _s(c.get("longest_call_seconds")),
            f"{b.get('over_1s', 0)} / {b.get('over_5s', 0)} / {b.get('over_30s', 0)}", str(c.get("open_at_end", 0)),
            errors, recovered, str(c.get("lost_writes", 0) + c.get("lost_increments", 0)),
            str(c.get("unacked_applied_writes", 0)), str(c.get("unacked_applied_increments", 0)),
        ])
    return out


def header(m: dict[str, Any]) -> list[str]:
    """The table's columns; the slots the fault hits are the victim's, or the ones a scale run moved."""
    context = m.get("clients_context") or {}
    return [h.format(slots=context.get("slots") or "the victim's slots", any=context.get("any") or "any slot",
                     since=context.get("recovery_from") or "the promotion") for h in HEADER]


def server_side(m: dict[str, Any]) -> str | None:
    """One sentence on what the clients cost the nodes, window by window (``clients_server_side``)."""
    side = m.get("clients_server_side")
    if not side:
        return None

    def three(k: str) -> str:
        return " / ".join("–" if (side.get(w) or {}).get(k) is None else f"{side[w][k]:g}"
                          for w in ("before", "during", "after"))

    return ("On the servers, every node together (the libraries' and the recorder's own topology refreshes; "
            "per second before / during / after the fault): CLUSTER SLOTS calls "
            f"{three('cluster_slots_per_second')}, CLUSTER SHARDS calls {three('cluster_shards_per_second')}, "
            f"new connections {three('connections_per_second')}.")


def markdown(m: dict[str, Any]) -> list[str]:
    table = rows(m)
    if not table:
        return []
    lines = ["", "## What your application would see", "", EXPLAIN, "",
             "| " + " | ".join(header(m)) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    if server_side(m):
        lines += ["", server_side(m) or ""]
    for c in m.get("clients") or []:
        if c.get("died_early"):
            lines += ["", f"The {c['client']} client crashed during the run (exit code {c.get('exit_code')}); its "
                      f"stderr ended: `{(c.get('stderr') or 'nothing').splitlines()[-1]}`. Its row covers only "
                      "the time it ran, and the run does not pass (check clients_ran)."]
    return lines
