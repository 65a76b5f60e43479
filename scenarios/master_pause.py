"""master-pause: freeze a Redis Cluster master (SIGSTOP / docker pause) past the node timeout, so
its replica is promoted while the old master holds its client connections open; then resume it.

A resumed stale master believes it is still master until gossip tells it about the new epoch:
the run measures how long that takes (``demote_seconds``) and whether it acknowledged writes in
that window (``stale_master_acknowledged_writes``) and lost them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from chaos.checkers.compose import Check
from chaos.checkers.failover import first, is_replica
from chaos.engine import Do, Heal, Inject, Phase, Plan, ReadFinal, RunContext, SleepUntil, WaitUntil, run_plan
from chaos.errors import ChaosError
from chaos.faults import Pause
from chaos.options import attach_options, redis_cluster_options, run_options
from chaos.state import StateDir
from chaos.steps.redis_cluster import (
    FAILOVER_CHECKS,
    REDIS_CHECKS,
    REDIS_KNOWN,
    RedisRunConfig,
    choose_node,
    cooldown_and_stop_load,
    fault_detail,
    measure_cluster,
    measure_redis,
    promoted,
    provision_cluster,
    record_fault,
    rejoined,
    say_promoted,
    say_rejoined,
    set_victim,
    start_probe_and_load,
)

NAME = "master-pause"
SUMMARY = "SIGSTOP a Redis Cluster master past the node timeout, then resume it: failover, stale-master writes"
HEADLINE = ["failover_seconds", "pause_seconds", "demote_seconds", "stale_master_acknowledged_writes",
            "write_unavailable_seconds", "rejoin_seconds", "lost_writes", "lost_increments"]
KNOWN = REDIS_KNOWN | {"demote_seconds", "stale_master_acknowledged_writes", "stale_master_lost_writes",
                       "stale_master_write_window_seconds", "pause_seconds"}


@dataclass
class MasterPauseConfig(RedisRunConfig):
    pause_seconds: float | None = None  # default: 2 × node timeout + 2 s

    def validate(self) -> None:
        super().validate()
        if self.pause_seconds is not None and self.pause_seconds <= 0:
            raise ChaosError("--pause-seconds must be positive")


def pause_seconds(ctx: RunContext) -> float:
    node_timeout = ctx.vars["cluster"].config.node_timeout_ms / 1000.0
    return ctx.config.pause_seconds or 2 * node_timeout + 2.0


def choose_victim(ctx: RunContext) -> None:
    set_victim(ctx, choose_node(ctx, ctx.config.target, "master"), needs_restart=False)


def pause_victim(ctx: RunContext) -> Pause:
    victim = ctx.vars["victim"]
    return Pause(ctx.vars["cluster"].backend, victim["name"], detail=fault_detail(victim)
                 + f" for {pause_seconds(ctx):g} s")


def after_pause(ctx: RunContext) -> None:
    record_fault(ctx, "pause", "pause", signal="SIGSTOP", pause_seconds=pause_seconds(ctx))


def after_resume(ctx: RunContext) -> None:
    ctx.vars["heal_t"] = ctx.vars["pause_healed_t"]


def demoted(ctx: RunContext) -> bool:
    """Wait condition: the resumed master reports itself a replica (the shared predicate)."""
    s = ctx.vars["probe"].latest.get(ctx.vars["victim"]["name"])
    return bool(s and s["time"] > ctx.vars["heal_t"] and is_replica(s))


def say_demoted(ctx: RunContext, ok: Any) -> None:
    victim = ctx.vars["victim"]["name"]
    if ok:
        seconds = ctx.vars["probe"].latest[victim]["time"] - ctx.vars["heal_t"]
        ctx.say(f"{victim} demoted itself to a replica {seconds:.3f} s after it resumed")
    else:
        ctx.say(f"{victim} did not demote itself in time")


PLAN_STEPS = [
    Do(provision_cluster),
    Do(choose_victim),
    Do(start_probe_and_load),
    SleepUntil(lambda c: c.vars["fault_at"], name="warm-up"),
    Phase("fault"),
    Inject("pause", pause_victim, then=after_pause),
    WaitUntil("promoted", promoted, pause_seconds, say_promoted),
    SleepUntil(lambda c: c.vars["fault_t"] + pause_seconds(c), name="pause"),
    Phase("recovery"),
    Heal("pause"),
    Do(after_resume),
    WaitUntil("demoted", demoted, lambda c: c.config.rejoin_timeout, say_demoted, when=lambda c: c.vars["promoted"]),
    WaitUntil("rejoined", rejoined, lambda c: c.config.rejoin_timeout, say_rejoined, when=lambda c: c.vars["promoted"]),
    Do(cooldown_and_stop_load),
    Do(measure_cluster),
]


def stale_master_part(run_dir: Path, ctx: dict[str, Any], samples: list[dict[str, Any]]) -> Any:
    """resume → demotion, and the writes the old master acknowledged in between."""
    def part(m: dict[str, Any]) -> dict[str, Any]:
        resume_t = ctx["heal_t"]
        demote_t = first(samples, ctx["victim"], resume_t, is_replica) if resume_t is not None else None
        acked = m["_victim_acked"].between(resume_t, demote_t) if resume_t is not None else []
        lost = m["_lost_keys"]  # missing when the history part failed: this part is then unknown too
        return {
            "pause_seconds": round(resume_t - ctx["fault_t"], 6) if resume_t is not None else None,
            "demote_seconds": round(demote_t - resume_t, 6) if demote_t is not None else None,
            "stale_master_acknowledged_writes": len(acked),
            "stale_master_lost_writes": sum(1 for _, key in acked if key in lost),
            "stale_master_write_window_seconds": round(max(t for t, _ in acked) - resume_t, 6) if acked else None,
        }
    return part


def measure(run_dir: Path, ctx: dict[str, Any], read_final: ReadFinal, live: dict[str, Any]) -> tuple[dict, list]:
    m = measure_redis(run_dir, ctx, read_final, live,
                      lambda samples: [("stale_master", stale_master_part(run_dir, ctx, samples))])
    checks = REDIS_CHECKS + FAILOVER_CHECKS + [
        Check("old_master_demoted", "demote_seconds", lambda v: v is not None)]
    return m, checks


PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, KNOWN, HEADLINE)


@click.command(NAME, help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up, drives load through it, freezes a
master with SIGSTOP (docker pause on --backend docker) for --pause-seconds (default: 2 × node
timeout + 2 s, long enough for its replica to be promoted), then resumes it. Measures the
failover, how long the resumed master took to notice and demote itself (demote_seconds), the
writes it acknowledged meanwhile (stale_master_acknowledged_writes, and how many of them were
lost), lost writes, the rejoin and replica consistency.

\b
Examples:
  chaos run master-pause
  chaos run master-pause --node-timeout-ms 1000 --pause-seconds 5 --target redis-2
  chaos run master-pause --backend docker --slo 'demote_seconds<=1'

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
@run_options(users=20, rate=None, rate_help="Target ops/s over all users, paced (default: unpaced).", what="a cluster")
@redis_cluster_options("Default: a seeded random master.", failover_timeout=False)
@attach_options()
@click.option("--pause-seconds", type=float, default=None,
              help="How long the master stays frozen [default: 2 × node timeout + 2 s].")
@click.pass_obj
def command(state: StateDir, **options: Any) -> None:
    options["slo"] = list(options["slo"])
    raise SystemExit(run_plan(PLAN, MasterPauseConfig(**options), state))
