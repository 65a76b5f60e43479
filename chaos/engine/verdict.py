"""The verdict and the result files: built-in checks and SLOs judged, result.json written, the
reports and metrics.prom. A run passes only if it finished, has at least one check, and every
check passed."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.checkers.compose import Check, evaluate
from chaos.engine.report_writers import write_reports
from chaos.engine.rundir import per_second
from chaos.runner import iso, write_json
from chaos.slo import Slo

if TYPE_CHECKING:
    from chaos.engine.context import RunContext

SCHEMA_VERSION = 4  # 2: checks carry "status" (pass / fail / unknown); measurement_errors
# 3: the history is history.jsonl.zst (zstd JSON lines); older runs' history.jsonl still reads
# 4: "kind" (the topology kind) and a versioned "context" (chaos.measure_context)


def judge(checks: list[Check], slos: list[Slo], measurements: dict[str, Any], finished: bool,
          ) -> tuple[list[dict[str, Any]], bool]:
    """Built-in checks (an SLO on the measurement a built-in check judges replaces it), then the
    SLOs; passed only if the run finished, there is a check, and every check passed."""
    replaced = {slo.name for slo in slos}
    kept = [c for c in checks if c.measurement not in replaced]
    results = evaluate(kept, measurements) + [slo.check(measurements) for slo in slos]
    passed = finished and bool(results) and all(r["status"] == "pass" for r in results)
    return results, passed


def saved_context(ctx: RunContext[Any, Any]) -> dict[str, Any]:
    """The measure context for result.json, built again after the cleanups (which may add to
    it, e.g. slots a cleanup had to close); {} for a run that never measured."""
    if ctx.outcome.context is None:
        return {}
    if ctx.plan.context_of is not None:
        try:
            ctx.outcome.context = ctx.plan.context_of(ctx)
        except Exception:  # keep the one the measurements used
            pass
    return ctx.outcome.context.to_json()


def finish(ctx: RunContext[Any, Any], slos: list[Slo]) -> dict[str, Any]:
    """Checks + SLOs → result.json, the reports, metrics.prom (and push). Returns the result."""
    outcome = ctx.outcome
    finished = not ctx.interrupted and outcome.error is None
    # a run that did not finish has no verdict to give: no checks, and it does not pass
    checks, passed = judge(outcome.checks if finished else [], slos if finished else [],
                           outcome.measurements, finished)
    result = {
        "schema_version": SCHEMA_VERSION,
        "scenario": ctx.plan.name,
        "kind": ctx.plan.state.KIND,
        "run_id": ctx.run.run_id,
        "backend": ctx.config.backend,
        "seed": ctx.seed,
        "started_at": iso(ctx.started_wall),
        "finished_at": iso(time.time()),
        "interrupted": ctx.interrupted,
        "passed": passed,
        "config": asdict(ctx.config),
        "topology": outcome.topology,
        "fault": outcome.fault,
        "faults": [record.as_result() for record in ctx.ledger],
        "measurements": outcome.measurements,
        "checks": checks,
        "context": saved_context(ctx),
        "per_second": per_second(ctx.run.dir / "load-seconds.jsonl"),
        "headline": ctx.plan.headline,
    }
    if outcome.error:
        result["error"] = outcome.error
    write_json(ctx.run.dir / "result.json", result)
    write_reports(ctx.run.dir, result)
    ctx.metrics.set_final(outcome.measurements, passed, outcome.topology.get("server_version"))
    ctx.metrics.write(ctx.run.dir / "metrics.prom")
    if ctx.config.textfile_dir:
        try:
            Path(ctx.config.textfile_dir).mkdir(parents=True, exist_ok=True)
            ctx.metrics.write(Path(ctx.config.textfile_dir) / ctx.metrics.textfile_name())
        except OSError as exc:
            ctx.say(f"warning: cannot write the metrics to --textfile-dir {ctx.config.textfile_dir} ({exc})")
    if ctx.config.pushgateway:
        problem = ctx.metrics.push(ctx.config.pushgateway)
        if problem:
            ctx.say(f"warning: {problem}")
    return result  # /metrics is served on until the engine stops it (--metrics-linger)


def summary_table(result: dict[str, Any], keys: list[str]) -> str:
    m = result["measurements"]
    width = max(len(k) for k in keys + [c["name"] for c in result["checks"]]) + 2
    lines = ["measurements:"]
    for k in keys:
        v = m.get(k)
        lines.append(f"  {k:<{width}}{'-' if v is None else (f'{v:.3f}' if isinstance(v, float) else v)}")
    context = m.get("clients_context") or {}
    hit, anywhere = context.get("slots") or "the victim's slots", context.get("any") or "any slot"
    for c in m.get("clients") or []:  # the client view, a line per library
        gap = c.get("write_unavailable_seconds")
        lines.append(f"  client {c['client']} {c['version']}: writes to {hit} stopped "
                     f"{'-' if gap is None else f'{gap:.2f} s'}, {anywhere} "
                     f"{c.get('write_unavailable_seconds_any_slot') or 0:.2f} s, longest call "
                     f"{c.get('longest_call_seconds') or 0:.2f} s, {c.get('errors_total', 0)} error(s) raised, "
                     f"{c.get('lost_writes', 0) + c.get('lost_increments', 0)} acknowledged lost")
    lines.append("checks:")
    for c in result["checks"]:
        v = c.get("value")
        shown = f"{v:.3f}" if isinstance(v, float) else v
        lines.append(f"  {c['name']:<{width}}{c['status'].upper():<8}({shown})")
    verdict = "interrupted" if result["interrupted"] else ("PASSED" if result["passed"] else "FAILED")
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)
