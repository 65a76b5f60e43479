"""report.md: what happened in a run, for people. A pure function of result.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.engine.report_writers import ReportFormat
from chaos.measure_context import load_context
from reports import client_view
from reports.charts import existing


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _fault_time(result: dict[str, Any]) -> float | None:
    return getattr(load_context(result), "fault_t", None)


def _cell(text: str | None) -> str:
    return "absent" if text is None else str(text).replace("|", "\\|")


def difference_lines(tables: list[dict[str, Any]]) -> list[str]:
    """The rows that differ in each mismatched table (by primary key), as markdown."""
    lines: list[str] = []
    for t in tables:
        d = t.get("differences")
        if not d:
            continue
        lines += ["", f"### Rows that differ in {t['database']}.{t['table']}", ""]
        if d.get("note"):
            lines.append(d["note"])
            continue
        lines += [f"{d['missing_on_replica']} missing on the replica, {d['only_on_replica']} only on the replica, "
                  f"{d['differing']} differing (by {', '.join(d['key'])}); the first of them:", "",
                  "| key | problem | source | replica |", "|---|---|---|---|"]
        lines += [f"| {r['key']} | {r['problem']} | {_cell(r['source'])} | {_cell(r['replica'])} |"
                  for r in d["rows"]]
    return lines


def source_kill_lines(m: dict[str, Any]) -> list[str]:
    """source-kill's sections: the promotion's steps, the lost commits, the old source's errant
    transactions, how it came back, and semi-sync's fallback as the source logged it."""
    lines: list[str] = []
    promotion = m.get("promotion")
    if isinstance(promotion, dict) and promotion.get("marks"):
        lines += ["", "## Promotion", "", f"`{promotion.get('node')}` ({promotion.get('address')}) promoted in "
                  f"{_fmt(promotion.get('seconds'))} s; it had applied `{promotion.get('applied_gtid') or ''}` "
                  f"(old source's binary log: `{promotion.get('applied_of_old_source') or '?'}`).", "",
                  "| t (s) | step |", "|---|---|"]
        lines += [f"| {mark['t']:.3f} | {mark['step']} |" for mark in promotion["marks"]]
    if "lost_commits" in m and "errant" in m:
        ids = m.get("lost_commit_ids") or []
        lines += ["", "## Lost commits", "",
                  f"{m['lost_commits']} acknowledged insert(s) missing on the new source"
                  + (f"; {m['lost_commits_after_fallback']} of them acknowledged after semi-sync fell back to async"
                     if m.get("lost_commits_after_fallback") is not None else "") + "."]
        if ids:
            lines += ["", "Row ids (first " + str(min(len(ids), 20)) + "; all in `lost-commits.txt`): "
                      + ", ".join(f"`{i}`" for i in ids[:20])]
        errant = m.get("errant") or {}
        lines += ["", "## Errant transactions on the old source", "",
                  f"{_fmt(errant.get('count'))} ({errant.get('method', '')})"
                  + (f": {errant['note']}" if errant.get("note") else "") + "."]
        listed = errant.get("transactions")
        if listed:
            shown = listed if isinstance(listed, str) else ", ".join(listed[:20]) + (" …" if len(listed) > 20 else "")
            lines += ["", f"`{shown}`"]
        back = m.get("old_source") or {}
        rebuilt = back.get("rebuild") or {}
        lines += ["", f"The old source came back: **{back.get('how')}**"
                  + (f" — {back['why']}" if back.get("why") else "")
                  + (f"; rebuilt from the new source: {rebuilt.get('rows')} rows in {_fmt(rebuilt.get('seconds'))} s"
                     if rebuilt else "") + "."]
    if m.get("semi_sync_fallback"):
        lines += ["", "## Semi-sync fell back to async", "",
                  f"Between {_fmt((m.get('semi_sync_fallback_window') or [None])[0])} s and "
                  f"{_fmt(m.get('semi_sync_fallback_t'))} s of the run ({_fmt(m.get('semi_sync_fallback_after_seconds'))}"
                  f" s after the cut); commits without a replica's acknowledgement: "
                  f"{_fmt(m.get('semi_sync_no_ack_commits'))}. The source's log:", ""]
        lines += [f"    {line}" for line in m.get("semi_sync_fallback_log") or []]
    return lines


EPISODE_KEY = ("On the charts' time axis each episode is a band from its injection to the cluster's steady state "
               "again: kill red, pause orange, partition purple, stop-replica green, stale grey; a red edge and a "
               "`!` before its number: not ok. The worst episode has a chart of its own, up close.")


def soak_lines(m: dict[str, Any]) -> list[str]:
    """A soak's episodes, one row each, and the figures per fault kind."""
    episodes = m.get("episodes")
    if not isinstance(episodes, list) or not episodes:
        return []
    lines = ["", "## Episodes", "",
             f"{m.get('episodes_ok')} of {m.get('episodes_total')} episodes ok; writes accepted on every slot in "
             f"{_fmt(100 * (m.get('writable_fraction') or 0))} % of the load's seconds (longest stretch without: "
             f"{_fmt(m.get('longest_unwritable_seconds'))} s); worst episode: {m.get('worst_episode')}. "
             f"{EPISODE_KEY}", "",
             "| # | fault | target | at (s) | promoted after (s) | write outage (s) | rejoin (s) | steady after heal (s) "
             "| lost | outcome |", "|---|---|---|---|---|---|---|---|---|---|"]
    for e in episodes:
        during = f" (during {e['overlaps']})" if e.get("overlaps") else ""
        lines.append(f"| {e['index']} | {e['kind']}{during} | {e.get('target') or '–'} ({e['role']}) | "
                     f"{_fmt(e['injected_t'])} | {_fmt(e.get('failover_seconds'))} | "
                     f"{_fmt(e.get('write_unavailable_seconds'))} | {_fmt(e.get('rejoin_seconds'))} | "
                     f"{_fmt(e.get('steady_seconds'))} | "
                     f"{'unknown' if e.get('lost_writes') is None else e['lost_writes']} | "
                     f"{'ok' if e['outcome'] == 'ok' else '**' + e['outcome'] + '**'} |")
    kinds = m.get("by_kind") or {}
    if kinds:
        lines += ["", "### Per fault kind", "", "| fault | episodes | ok | figure | median | 95 % interval of the "
                  "median | p95 | max |", "|---|---|---|---|---|---|---|---|"]
        for kind, row in kinds.items():
            for key in ("failover_seconds", "write_unavailable_seconds", "rejoin_seconds"):
                f = row.get(key)
                if f:
                    ci = f.get("median_interval")
                    lines.append(f"| {kind} | {row['episodes']} | {row['ok']} | {key} | {_fmt(f['median'])} | "
                                 f"{_fmt(ci[0]) + '–' + _fmt(ci[1]) if ci else '–'} | {_fmt(f['p95'])} | "
                                 f"{_fmt(f['max'])} |")
    if m.get("in_progress_at_end"):
        lines += ["", f"The run ended during episode(s) {m['in_progress_at_end']}."]
    return lines


def replication_line(result: dict[str, Any]) -> str:
    """How a MySQL/MariaDB replica follows its source and how its IO thread logs in ("" for other runs)."""
    topo = result.get("topology") or {}
    if not topo.get("replication"):
        return ""
    login = topo.get("replication_login") or {}
    how = f"TLS {login.get('tls') or 'No'}"
    if login.get("get_source_public_key") is not None:
        how += f", GET_SOURCE_PUBLIC_KEY={login['get_source_public_key']} (caching_sha2_password's RSA key from the source)"
    mode = "GTID" if topo["replication"] == "gtid" else "binary log position"
    clients = f" The harness's connections: {topo['client_tls']}." if topo.get("client_tls") else ""
    return f"Replication by {mode}; the IO thread logs in with {how}.{clients}"


def attached_line(attached: dict[str, Any]) -> str:
    """One sentence on servers the harness did not start (``--attach``, ``--source/--replica``)."""
    where = (f"the Redis Cluster at `{attached['target']}`" if attached.get("target") else
             f"the source `{attached.get('source')}` and replica `{attached.get('replica')}` "
             f"({attached.get('replication')}; the run's tables in `{attached.get('database')}`)")
    text = f"Attached to {where}, not started by the harness."
    changed = attached.get("roles_changed")
    if changed:
        text += " Afterwards: " + "; ".join(changed) + "."
    return text


def render(result: dict[str, Any], run_dir: Path | None = None) -> str:
    m = result.get("measurements", {})
    fault = result.get("fault") or {}
    verdict = "INTERRUPTED" if result.get("interrupted") else ("PASSED" if result.get("passed") else "FAILED")
    lines = [
        f"# {result.get('scenario')} — {verdict}",
        "",
        f"Run `{result.get('run_id')}`, backend `{result.get('backend')}`"
        + (f", server {(result.get('topology') or {}).get('server_version')}"
           if (result.get("topology") or {}).get("server_version") else "")
        + f", seed {result.get('seed')}, "
        f"{result.get('started_at')} → {result.get('finished_at')}.",
        "",
    ]
    attached = (result.get("topology") or {}).get("attached")
    if attached:
        lines += [attached_line(attached), ""]
    if replication_line(result):
        lines += [replication_line(result), ""]
    if fault:
        lines += [f"Fault: **{fault.get('kind')}** of `{fault.get('target')}` ({fault.get('target_role')}"
                  + (f", slots {fault['target_slots']}" if fault.get("target_slots") else "") + ")"
                  + (f" at {fault.get('injected_at_iso')}" if fault.get("injected_at_iso") else "") + ".", ""]
    if result.get("error"):
        lines += [f"Error: {result['error']}", ""]
    if m.get("findings"):
        lines += ["## Findings", "", "Settings that can hide a loss or a divergence (the verdict is on evidence):", ""]
        lines += [f"- {f['server']} `{f['setting']}={f['value']}`: {f['why']}" for f in m["findings"]] + [""]
    lines += ["## Checks", "", "| check | passed | value | threshold |", "|---|---|---|---|"]
    for c in result.get("checks", []):
        status = c.get("status", "pass" if c.get("passed") else "fail")
        shown = {"pass": "yes", "fail": "**no**"}.get(status, f"**{status}**")
        lines.append(f"| {c['name']} | {shown} | {_fmt(c.get('value'))} | {c.get('threshold') or ''} |")
        if c.get("error"):
            lines.append(f"| | {c['error']} | | |")
    lines += ["", "## Measurements", "", "| measurement | value |", "|---|---|"]
    for key, value in m.items():
        if not isinstance(value, dict | list):
            lines.append(f"| {key} | {_fmt(value)} |")
    if m.get("catchup_seconds") is None and m.get("catchup_blocked"):
        lines += ["", f"The replica did not catch up: {m['catchup_blocked']}."]
    if m.get("rejoin_seconds") is None and m.get("rejoin_reason"):
        lines += ["", f"The old master did not rejoin: {m['rejoin_reason']}."]
    ops = m.get("ops")
    if ops:
        lines += ["", "## Operations", "", "| kind | ok | fail | info |", "|---|---|---|---|"]
        for f, c in ops.get("by_f", {}).items():
            lines.append(f"| {f} | {c['ok']} | {c['fail']} | {c['info']} |")
        lines.append(f"| **all** | {ops['ok']} | {ops['fail']} | {ops['info']} |")
    latency = m.get("latency_ms")
    if latency:
        lines += ["", "## Latency of acknowledged operations (ms)", "",
                  "| phase | count | p50 | p95 | p99 | max |", "|---|---|---|---|---|---|"]
        for phase, lat in latency.items():
            lines.append(f"| {phase} | {lat['count']} | {_fmt(lat['p50'])} | {_fmt(lat['p95'])} | "
                         f"{_fmt(lat['p99'])} | {_fmt(lat['max'])} |")
    seconds = result.get("per_second") or []
    if seconds:
        fault_at = _fault_time(result)
        shown = [row for row in seconds if len(seconds) <= 40 or row[2] or row[3]
                 or (fault_at is not None and fault_at - 3 <= row[0] <= fault_at + 3)]
        lines += ["", "## The clients' view, per second" + (" (seconds with errors, and around the fault)"
                                                            if len(shown) < len(seconds) else ""),
                  "", "| t (s) | ok | fail | info | p50 ms | p99 ms |", "|---|---|---|---|---|---|"]
        for t, ok, fail, info, p50, p99 in shown:
            lines.append(f"| {t:.0f} | {ok} | {fail} | {info} | {_fmt(p50)} | {_fmt(p99)} |")
    lines += client_view.markdown(m)
    server = m.get("server_view")
    if server:
        lines += ["", "## The servers' own view (from their logs, seconds after the fault)", "",
                  "| t | node | event |", "|---|---|---|"]
        for e in server:
            lines.append(f"| {e['after_fault']:+.3f} | {e['node']} | {e['message']} |")
    consistency = m.get("consistency")
    if isinstance(consistency, dict) and consistency.get("pairs"):
        lines += ["", "## Replicas against their masters", "",
                  "| master | replica | keys (master/replica) | digest equal | mismatches |", "|---|---|---|---|---|"]
        for p in consistency["pairs"]:
            lines.append(f"| {p['master']} | {p['replica']} | {p['master_keys']}/{p['replica_keys']} | "
                         f"{'yes' if p['digest_match'] else '**no**'} | {p['mismatches']} |")
    lines += source_kill_lines(m)
    lines += soak_lines(m)
    tables = m.get("tables")
    if isinstance(tables, dict) and tables.get("tables"):
        lines += ["", "## Tables, source against replica", "",
                  "| table | rows (source/replica) | checksum (source/replica) | equal |", "|---|---|---|---|"]
        for t in tables["tables"]:
            lines.append(f"| {t['database']}.{t['table']} | {_fmt(t['source_rows'])}/{_fmt(t['replica_rows'])} | "
                         f"{_fmt(t['source_checksum'])}/{_fmt(t['replica_checksum'])} | "
                         f"{'yes' if t['match'] else '**no**'} |")
        lines += difference_lines(tables["tables"])
    if m.get("skipped_replication_errors_note"):
        lines += ["", f"Skipped replication errors: {m.get('skipped_replication_errors')} "
                  f"({m['skipped_replication_errors_note']})."]
    topo = result.get("topology", {})
    for when in ("before", "after"):
        nodes = topo.get(when)
        if nodes:
            lines += ["", f"## Topology {when}", "", "| node | address | role | follows | slots |", "|---|---|---|---|---|"]
            for n in nodes:
                lines.append(f"| {n['name']} | {n['address']} | {n.get('role') or 'down'} | "
                             f"{n.get('follows') or ''} | {n.get('slots') or ''} |")
    charts = existing(run_dir) if run_dir is not None else []
    if charts:
        lines += ["", "## Charts", ""]
        for c in charts:
            lines += [f"**{c.title}**", "", f"![{c.title}]({c.png})", ""]
    lines += ["", "Files: `result.json`, `history.jsonl.zst` (`chaos history RUN_DIR --jsonl`), `timeline.jsonl.zst`, "
              "`metrics.prom`, `nodes/`.", ""]
    return "\n".join(lines)


FORMAT = ReportFormat("report.md", render, order=10)
