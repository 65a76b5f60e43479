"""The measurements every Redis failover plan shares, pure over the run directory's files (the
history, the timeline) and what was measured live (replica comparison): lost writes and
counters, availability of the victim's slots, latency per phase, the promotion and the servers'
own view of it, the old master's return."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.checkers.compose import Check, measure_parts
from chaos.checkers.counts import AckedBy
from chaos.checkers.failover import cluster_down, first_promotion, first_rejoin
from chaos.engine import read_timeline
from chaos.measure_context import RedisFailoverContext
from chaos.runner import analyze_history
from chaos.steps.client_view import clients_part, slot_group

REDIS_KNOWN = {"failover_seconds", "failover_seconds_from_log", "cluster_down_seconds", "write_unavailable_seconds",
               "write_unavailable_seconds_other_slots", "rejoin_seconds", "lost_writes", "unacked_applied_writes",
               "lost_increments", "ops.ok", "ops.fail", "ops.info", "consistency.mismatches",
               "consistency.keys_compared", "recovered_writes", "failed_applied_writes"}


Part = Callable[[dict[str, Any]], dict[str, Any]]


def history_part(run_dir: Path, ctx: RedisFailoverContext, read_final: Any) -> Part:
    """Lost writes, counters, availability per slot group, latency per phase, op counts."""
    names = ["others"] * 16384  # slot → group, looked up once per operation
    for lo, hi in ctx.victim_slots:
        names[lo : hi + 1] = ["victim"] * (hi - lo + 1)

    def group(op: Any) -> str | None:
        return names[key_slot(op.key.encode())]

    def part(_: dict[str, Any]) -> dict[str, Any]:
        # in the same pass: the writes the victim acknowledged from the fault on (pause, partition)
        victim_acked = AckedBy(ctx.victim_address or None, ctx.fault_t)
        analysis = analyze_history(run_dir / "history.jsonl", read_final, group, [tuple(p) for p in ctx.phases],
                                   extra=(victim_acked,))
        lost_keys = analysis.writes.pop("lost_keys")
        (run_dir / "lost-writes.txt").write_text("".join(f"{k}\n" for k in lost_keys))
        avail = analysis.availability
        victim_avail = avail.get("victim", {})
        return {
            "write_unavailable_seconds": victim_avail.get("longest_unavailable_seconds"),
            "write_unavailable_until_end": victim_avail.get("unavailable_at_end", False),
            "write_unavailable_seconds_other_slots": avail.get("others", {}).get("longest_unavailable_seconds"),
            "lost_writes": analysis.writes["lost"],
            "unacked_applied_writes": analysis.writes["unacked_applied"],
            "recovered_writes": analysis.writes["recovered"],
            "failed_applied_writes": analysis.writes["failed_applied"],
            "lost_increments": analysis.counters["lost_increments"],
            "unacked_applied_increments": analysis.counters["unacked_applied_increments"],
            "ops": analysis.ops,
            "latency_ms": analysis.latency,
            "writes": analysis.writes,
            "counters": {k: v for k, v in analysis.counters.items() if k != "per_key"},
            "availability": avail,
            "_lost_keys": set(lost_keys),
            "_victim_acked": victim_acked,
        }
    return part


def failover_part(ctx: RedisFailoverContext, samples: Any) -> Part:
    """Promotion (from the fault), cluster_state:fail time, the servers' log view, and the old
    master's return as a replica of the promoted node (from ``heal_t``)."""
    fault_t, heal_t, victim = ctx.fault_t, ctx.heal_t, ctx.victim

    def part(_: dict[str, Any]) -> dict[str, Any]:
        promotion = first_promotion(samples, ctx.replicas, ctx.first_slot, after=fault_t) if ctx.replicas else None
        # back as a replica of the promoted node (or, when no failover was expected, of its master)
        master_after = promotion["address"] if promotion else ctx.rejoin_master
        rejoin_t = first_rejoin(samples, victim, master_after, heal_t) \
            if master_after and heal_t is not None else None
        server_view = [{**e, "after_fault": round(e["time"] - fault_t, 6)} for e in samples if e.get("source") == "log"]
        won = next((e for e in server_view if e["event"] == "election_won"
                    and promotion and e["node"] == promotion["node"]), None)
        m = {
            "failover_seconds": round(promotion["time"] - fault_t, 6) if promotion else None,
            "failover_seconds_from_log": round(won["after_fault"], 6) if won else None,
            "promoted": promotion["address"] if promotion else None,
            "cluster_down_seconds": cluster_down(samples)["cluster_down_seconds"],
            "rejoin_seconds": round(rejoin_t - heal_t, 6) if rejoin_t is not None and heal_t is not None else None,
            "server_view": server_view,
            "_promotion": promotion,
        }
        if rejoin_t is None:
            m["rejoin_reason"] = ("no replica was promoted" if not master_after else
                                  f"{victim} was not a linked replica of {master_after} within "
                                  f"{ctx.rejoin_timeout or 0:g} s of its return")
        return m
    return part


REDIS_CHECKS = [
    Check("no_lost_writes", "lost_writes", lambda v: v == 0, "==0"),
    Check("no_lost_increments", "lost_increments", lambda v: v == 0, "==0"),
    Check("replicas_consistent", "consistency", lambda c: c["consistent"], "==0", shown=lambda c: c["mismatches"]),
]
FAILOVER_CHECKS = [
    Check("failover_happened", "failover_seconds", lambda v: v is not None),
    Check("old_master_rejoined_as_replica", "rejoin_seconds", lambda v: v is not None),
]

# a plan's own measurement parts: (name, part) pairs built from the context and the timeline
ExtraParts = Callable[[RedisFailoverContext, Path, Any], Sequence[tuple[str, Part]]]


def measure_redis(run_dir: Path, ctx: RedisFailoverContext, read_final: Any, live: dict[str, Any],
                  extra: ExtraParts | None = None) -> dict[str, Any]:
    """The measurements every Redis fault plan shares (history, failover, consistency), plus the
    plan's own parts."""
    samples = read_timeline(run_dir / "timeline.jsonl")
    m = measure_parts([
        ("history", history_part(run_dir, ctx, read_final)),
        ("failover", failover_part(ctx, samples)),
        ("clients", clients_part(run_dir, read_final, slot_group(ctx.victim_slots), ctx.fault_t, until_t=ctx.heal_t)),
        *(extra(ctx, run_dir, samples) if extra is not None else []),
        ("consistency", lambda _: {"consistency": live["consistency"]}),
    ])
    m.update(node_timeout_ms=ctx.node_timeout_ms, probe_samples=live.get("probe_samples"),
             load_generator=live.get("load_generator"))
    return public(m)


def public(measurements: dict[str, Any]) -> dict[str, Any]:
    """Measurements without the parts' private hand-offs (keys starting with ``_``)."""
    return {k: v for k, v in measurements.items() if not k.startswith("_")}


