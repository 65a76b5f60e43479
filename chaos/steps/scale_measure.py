"""scale-out / scale-in measurements: pure over the run directory's files and what was
measured live (the end state, the reshard's summary, the servers' redirect counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.checkers.compose import Check
from chaos.measure_context import ScaleContext
from chaos.runner import analyze_history
from chaos.steps.client_view import clients_part, slot_group, with_client_checks
from chaos.topology.reshard import summarize


def measure(run_dir: Path, ctx: ScaleContext, read_final: Any, live: dict[str, Any]) -> tuple[dict[str, Any], list[Check]]:
    # per source master: the longest time no write to the slots it gave away succeeded
    moved = {s: src for src, ranges in (ctx.moved_ranges or {}).items() for lo, hi in ranges
             for s in range(lo, hi + 1)}
    analysis = analyze_history(run_dir / "history.jsonl", read_final, lambda op: moved.get(key_slot(op.key.encode())),
                               [tuple(p) for p in ctx.phases])
    by_source = analysis.availability
    worst: dict[str, Any] = max(by_source.values(), key=lambda a: a["longest_unavailable_seconds"], default={})
    w, c = analysis.writes, analysis.counters
    (run_dir / "lost-writes.txt").write_text("".join(f"{k}\n" for k in w.pop("lost_keys")))
    seconds = _seconds(run_dir / "load-seconds.jsonl")
    # live: measured at the end of the run; or, for `chaos analyze`, the measurements stored then
    # (with the method and, atomic, the jobs: the half-moved check depends on the method)
    reshard = live.get("reshard") or {k: live.get(k) for k in (*summarize([]), "method", "jobs") if k in live
                                      or k in summarize([])}
    m: dict[str, Any] = {
        **reshard,
        "client_redirects": {k: sum(s.get(k, 0) for s in seconds) for k in ("moved", "ask", "tryagain")},
        "server_redirects": live["server_redirects"],
        **throughput(seconds, ctx.phases, ctx.migration_start_t, ctx.migration_end_t),
        "latency_ms": analysis.latency,
        "lost_writes": w["lost"], "lost_increments": c["lost_increments"],
        "unacked_applied_writes": w["unacked_applied"], "ops": analysis.ops, "writes": w,
        "preloaded_keys_missing": live.get("preload_missing", live.get("preloaded_keys_missing")),
        "moved_slots_write_pause_seconds": worst.get("longest_unavailable_seconds"),
        "moved_slots_write_pause_window": worst.get("longest_window"),
        "moved_slots_write_pause_by_source": {src: a["longest_unavailable_seconds"] for src, a in by_source.items()},
        "slots_in_flight": live.get("slots_in_flight"),
        "end_state": live["end_state"], "slots_fixed": ctx.slots_fixed or [],
        "slots_half_moved": live.get("slots_half_moved", []),
        "probe_samples": live.get("probe_samples"),
        "load_generator": live.get("load_generator"),
    }
    moved_ranges = [r for ranges in (ctx.moved_ranges or {}).values() for r in ranges]
    m.update(clients_part(run_dir, read_final, slot_group(moved_ranges), ctx.migration_start_t,
                          "moved_slots_write_pause_seconds", "the moved slots", "the migration began",
                          until_t=ctx.migration_end_t)(m))
    checks = [
        Check("every_slot_owned_once", "end_state.slots_owned_once", bool),
        Check("nodes_agree_on_slots", "end_state.nodes_agree", bool),
        Check("no_open_slots", "end_state.open_slots", lambda v: v == 0, "==0"),
        Check("no_misplaced_keys", "end_state.misplaced_keys", lambda v: v == 0, "==0"),
        Check("replicas_linked", "end_state.replicas_unlinked", lambda v: v == 0, "==0"),
        Check("cluster_ok_everywhere", "end_state.nodes_not_ok", lambda v: v == 0, "==0"),
        Check("no_lost_writes", "lost_writes", lambda v: v == 0, "==0"),
        Check("no_lost_increments", "lost_increments", lambda v: v == 0, "==0"),
        Check("no_preloaded_key_lost", "preloaded_keys_missing", lambda v: not v, "==0"),
    ]
    if m.get("method") == "atomic":  # a cancelled or failed job must leave no key where its slot is not owned
        checks.append(Check("no_slot_half_moved", "slots_half_moved", lambda v: not v, "==0", shown=len))
    if ctx.rebalance:
        checks.append(Check("slots_balanced", "end_state.slot_imbalance", lambda v: v is not None and v <= 0.02,
                            "<=0.02"))
    if ctx.removed:
        checks.append(Check("removed_nodes_forgotten", "end_state.nodes_knowing_removed", lambda v: v == 0, "==0"))
    return m, with_client_checks(run_dir, checks)


def _seconds(path: Path) -> list[dict[str, Any]]:
    try:
        with open(path) as lines:
            return [json.loads(line) for line in lines]
    except FileNotFoundError:
        return []


def throughput(seconds: list[dict[str, Any]], phases: list[Any], start: float | None,
               end: float | None) -> dict[str, Any]:
    """Acknowledged ops/s before, during and after the migration, the depth of the dip and the
    time after the migration until a second is back within 5 % of the baseline (pure)."""
    if start is None or end is None or not seconds:
        return {"ops_per_second": {}, "throughput_dip": None, "recovery_seconds": None}
    first_load = phases[0][1] if phases else 0.0
    before = [s["ok"] for s in seconds if first_load + 1.5 <= s["t"] <= start]  # skip the ramp-up
    during = [s["ok"] for s in seconds if start < s["t"] <= end + 1]
    after = [s for s in seconds if s["t"] > end + 1]
    baseline = sum(before) / len(before) if before else None
    out: dict[str, Any] = {"ops_per_second": {
        "before": round(baseline, 1) if baseline else None,
        "during": round(sum(during) / len(during), 1) if during else None,
        "after": round(sum(s["ok"] for s in after[:-1]) / len(after[:-1]), 1) if len(after) > 1 else None,
    }}
    out["throughput_dip"] = round(1 - min(during) / baseline, 4) if baseline and during else None
    back = next((s["t"] for s in seconds if s["t"] > end and baseline and s["ok"] >= 0.95 * baseline), None)
    out["recovery_seconds"] = round(max(0.0, back - 1 - end), 3) if back is not None else None
    return out
