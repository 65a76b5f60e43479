"""The resilience report's numbers (`chaos suite`): a scorecard row per fault of the suite over
its runs, and recommendations that each follow from a measurement, with the number behind it.
Pure over the runs' results (no network, no clock); the pages are drawn by the ``resilience``
report writer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chaos.stats import failure_rate_upper, median, median_interval

# the write outage and the recovery of each kind of run, by the measurement that holds it
OUTAGE = ("write_unavailable_seconds", "moved_slots_write_pause_seconds")
RECOVERY = (("failover_seconds", "promotion of a replica"), ("promotion_seconds", "promotion of the replica"),
            ("catchup_seconds", "replica caught up"), ("migration_seconds", "slots moved"))
LOSSES = ("lost_writes", "lost_increments", "lost_rows", "lost_commits", "clients_lost_writes")


def _spread(values: Sequence[float]) -> dict[str, Any] | None:
    if not values:
        return None
    interval = median_interval(values)
    return {"median": round(median(values), 6), "worst": round(max(values), 6), "n": len(values),
            "interval": [round(x, 6) for x in interval] if interval else [round(min(values), 6), round(max(values), 6)],
            "interval_kind": "95% CI of the median" if interval else "min–max"}


def _number(m: dict[str, Any], key: str) -> float | None:
    v = m.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def row(name: str, scenario: str, runs: list[dict[str, Any]], planned: int,
        slos: Sequence[str] = ()) -> dict[str, Any]:
    """One fault's line: ``runs`` are {dir, result} records of its finished runs; ``slos`` the
    checks the suite holds it to (each run judged them: met in k of n)."""
    results = [r["result"] for r in runs]
    passed = sum(1 for r in results if r.get("passed"))
    failed = len(results) - passed
    ms = [r.get("measurements") or {} for r in results]
    outage_key = next((k for k in OUTAGE if any(_number(m, k) is not None for m in ms)), None)
    recovery = next(((k, what) for k, what in RECOVERY if any(_number(m, k) is not None for m in ms)), None)
    lost = sum(int(_number(m, k) or 0) for m in ms for k in LOSSES)
    failed_checks: dict[str, int] = {}
    for r in results:
        for c in r.get("checks") or []:
            if c.get("status") != "pass":
                failed_checks[c["name"]] = failed_checks.get(c["name"], 0) + 1
    findings = sorted({f"{f.get('server')} {f.get('setting')}={f.get('value')}: {f.get('why')}"
                       for m in ms for f in (m.get("findings") or [])})
    findings += client_findings(ms)
    if any((m.get("load_generator") or {}).get("generator_saturated") for m in ms):
        findings.append("the load generator was saturated in some runs: their throughput is its limit, not the "
                        "servers'")
    return {
        "name": name, "scenario": scenario, "runs": len(results), "planned": planned, "passed": passed,
        "failure_rate_upper": round(failure_rate_upper(failed, len(results)), 4) if results else None,
        "write_outage_measurement": outage_key,
        "write_outage_seconds": _spread([v for m in ms if (v := _number(m, outage_key or "")) is not None]),
        "recovery_measurement": recovery[0] if recovery else None, "recovery_what": recovery[1] if recovery else None,
        "recovery_seconds": _spread([v for m in ms if recovery and (v := _number(m, recovery[0])) is not None]),
        "lost_acknowledged": lost,
        "checks_failed": failed_checks,
        "slos": [{"slo": slo, "met": sum(1 for r in results for c in r.get("checks") or []
                                         if c["name"] == slo and c.get("status") == "pass"), "of": len(results)}
                 for slo in slos],
        "findings": findings,
        "run_dirs": [str(r["dir"]) for r in runs],
        "node_timeout_ms": next((v for m in ms if (v := _number(m, "node_timeout_ms")) is not None), None),
        "extra": {k: _spread([v for m in ms if (v := _number(m, k)) is not None])
                  for k in ("stale_master_acknowledged_writes", "replica_down_seconds", "max_lag_seconds")
                  if any(_number(m, k) is not None for m in ms)},
    }


def client_findings(ms: Sequence[dict[str, Any]]) -> list[str]:
    """What each client library (``--clients``) saw over the runs: its worst write gap on the
    data the fault hit against the recorder's in the same run, its longest call, and what it
    lost; one line per library."""
    by_lib: dict[str, list[tuple[dict[str, Any], float | None]]] = {}
    for m in ms:
        for c in m.get("clients") or []:
            by_lib.setdefault(str(c.get("label") or c.get("client")), []).append(
                (c, _number(m, "write_unavailable_seconds")))
    out = []
    for lib, seen in sorted(by_lib.items()):
        gaps = [(g, rec) for c, rec in seen if (g := _number(c, "write_unavailable_seconds")) is not None]
        worst = max(gaps, default=None, key=lambda x: x[0])
        longest = max((_number(c, "longest_call_seconds") or 0.0 for c, _ in seen), default=0.0)
        lost = sum(int(_number(c, "lost_writes") or 0) + int(_number(c, "lost_increments") or 0) for c, _ in seen)
        crashed = sum(1 for c, _ in seen if c.get("died_early"))
        text = f"client {lib}: " + (f"worst write gap {worst[0]:.2f} s" + (
            f" (the recorder's in that run {worst[1]:.2f} s)" if worst[1] is not None else "") if worst else
            "no write gap measured")
        text += f", longest call {longest:.2f} s, {lost} acknowledged write(s) lost over {len(seen)} run(s)"
        if crashed:
            text += f", crashed in {crashed}"
        out.append(text)
    return out


def recommendations(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What to change, only where a measurement says so; each with the number behind it."""
    out: list[dict[str, str]] = []
    for r in rows:
        outage, recovery = r["write_outage_seconds"], r["recovery_seconds"]
        if r["lost_acknowledged"]:
            out.append({"fault": r["name"], "because": f"{r['lost_acknowledged']} acknowledged write(s) lost in "
                        f"{r['runs']} run(s)", "do": "see the runs' reports for which writes and when; on Redis "
                        "a master that acknowledged writes it later lost is what min-replicas-to-write and clients' "
                        "command timeouts bound; on MySQL, semi-synchronous replication (source-kill --semi-sync "
                        "after-sync measures it)"})
        timeout = r.get("node_timeout_ms")
        if r["recovery_measurement"] == "failover_seconds" and recovery and timeout:
            beyond = recovery["median"] - timeout / 1000.0
            out.append({"fault": r["name"], "because": f"the promotion took {recovery['median']:.2f} s (median of "
                        f"{recovery['n']}) at cluster-node-timeout {timeout:g} ms: the timeout, plus {beyond:.2f} s "
                        "of detection and election",
                        "do": "the write outage follows cluster-node-timeout: lowering it shortens the outage by "
                        "about as much (at the risk of failing a node that is only slow); run the suite again at "
                        "the new value and compare (`chaos report compare`)"})
        if r["write_outage_measurement"] == "moved_slots_write_pause_seconds" and outage:
            out.append({"fault": r["name"], "because": f"writes to the moving slots paused for up to "
                        f"{outage['worst']:.2f} s (median {outage['median']:.2f} s)",
                        "do": "plan slot migrations for when that pause is acceptable, or move fewer slots at a "
                        "time (--slots)"})
        down = (r["extra"].get("replica_down_seconds") or {}).get("median")
        if r["recovery_measurement"] == "catchup_seconds" and recovery and down:
            out.append({"fault": r["name"], "because": f"the replica needed {recovery['median']:.2f} s to catch "
                        f"up after {down:.2f} s down ({recovery['median'] / down:.2f} s per second down)",
                        "do": "a longer outage costs about as much more catch-up at this write rate: size "
                        "maintenance windows and lag alerts with it"})
        if r["passed"] < r["runs"] and not r["lost_acknowledged"]:
            checks = ", ".join(f"{k} ({v}×)" for k, v in r["checks_failed"].items())
            out.append({"fault": r["name"], "because": f"{r['runs'] - r['passed']} of {r['runs']} run(s) failed: "
                        f"{checks}", "do": "read those runs' reports before trusting this fault's figures"})
    return out


def scorecard(suite: dict[str, Any], entries: list[dict[str, Any]], complete: bool,
              skipped: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """``entries``: per suite entry its name, scenario, planned repeats and finished runs;
    ``skipped``: the entries left out ({name, scenario, why}), said in the report."""
    rows = [row(e["name"], e["scenario"], e["runs"], e["planned"], e.get("slos") or ()) for e in entries]
    return {"suite": suite.get("name"), "source": suite.get("source"), "complete": complete,
            "runs": sum(r["runs"] for r in rows), "planned": sum(r["planned"] for r in rows),
            "passed": sum(r["passed"] for r in rows), "rows": rows, "recommendations": recommendations(rows),
            "skipped": list(skipped)}
