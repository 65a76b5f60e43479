"""`chaos analyze RUN_DIR`: a finished run's verdict recomputed from its files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from chaos.engine.report_writers import write_reports
from chaos.engine.rundir import STARTED_FILE, StoredFinalRead, pack, per_second, read_result
from chaos.engine.steps import Plan
from chaos.engine.verdict import judge, summary_table
from chaos.errors import ChaosError
from chaos.measure_context import load_context
from chaos.metrics import FINAL_GAUGES, RunMetrics
from chaos.runner import iso, write_json
from chaos.slo import parse_slo


def reanalyze(plan: Plan, run_dir: Path, slo_texts: list[str]) -> int:
    """`chaos analyze RUN_DIR`: recompute measurements and checks from a finished run's files
    (history, timeline, final read; what was measured live is kept), with the run's own SLOs or
    new ones; rewrite result.json, the reports and metrics.prom."""
    if (run_dir / STARTED_FILE).exists() and plan.partial is not None and (
            not (run_dir / "result.json").exists() or not finished(read_result(run_dir))):
        return analyze_partial(plan, run_dir)  # killed (no result.json), or stopped before its end (Ctrl-C)
    result = read_result(run_dir)
    if not finished(result):
        raise ChaosError(f"{run_dir} holds a run that did not finish; there is no complete history to analyze")
    slos = [parse_slo(t, plan.known) for t in (slo_texts or result["config"].get("slo", []))]
    with StoredFinalRead(run_dir / plan.final_read) as stored:
        measurements, checks = plan.measure(run_dir, load_context(result), stored, result["measurements"])
    results, passed = judge(checks, slos, measurements, True)
    result.update(measurements=measurements, checks=results, passed=passed, reanalyzed_at=iso(time.time()))
    result["config"]["slo"] = [str(slo) for slo in slos]
    write_json(run_dir / "result.json", result)
    write_reports(run_dir, result)
    update_final_metrics(run_dir / "metrics.prom", measurements, passed)
    click.echo(summary_table(result, plan.headline))
    return 0 if passed else 1


def finished(result: dict[str, Any]) -> bool:
    """Whether a result is a finished run's, whose files hold a complete history."""
    return not (result.get("interrupted") or result.get("error") or not result.get("context"))


def analyze_partial(plan: Plan, run_dir: Path) -> int:
    """A run killed before its result.json: the plan's ``partial`` measures what its files hold;
    the result is marked interrupted (never passed), with the checks it could judge."""
    started = json.loads((run_dir / STARTED_FILE).read_text())
    assert plan.partial is not None
    measurements, checks, context = plan.partial(run_dir, started)
    results, _ = judge(checks, [], measurements, True)
    result = {**{k: started.get(k) for k in ("schema_version", "scenario", "kind", "run_id", "backend", "seed",
                                             "started_at", "config", "topology", "headline")},
              "finished_at": None, "interrupted": True, "passed": False, "fault": None, "faults": [],
              "measurements": measurements, "checks": results, "context": context,
              "per_second": per_second(run_dir / "load-seconds.jsonl"), "reanalyzed_at": iso(time.time()),
              "error": measurements.get("partial_reason")}
    write_json(run_dir / "result.json", result)
    write_reports(run_dir, result)
    pack(run_dir)
    click.echo(summary_table(result, plan.headline))
    return 1


def update_final_metrics(path: Path, measurements: dict[str, Any], passed: bool) -> None:
    """Put recomputed final values into metrics.prom, keeping the live series the run wrote."""
    fresh = RunMetrics("x", "y")
    fresh.set_final(measurements, passed)
    finals = {f"chaos_{name}" for name in FINAL_GAUGES} | {"chaos_run_passed"}
    values = {sample.name: sample.value for family in fresh.registry.collect() for sample in family.samples
              if sample.name in finals}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    out = []
    for line in lines:
        name = line.split("{", 1)[0]
        if not line.startswith("#") and name in values and "{" in line:
            line = f"{line.rsplit(' ', 1)[0]} {float(values[name])!r}"
        out.append(line)
    path.write_text("\n".join(out) + "\n")
