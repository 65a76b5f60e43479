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

from chaos.checkers.compose import Check
from chaos.checkers.failover import first, is_replica
from chaos.engine import WaitUntil, action
from chaos.engine.command import scenario_command
from chaos.errors import ChaosError
from chaos.faults import Pause
from chaos.measure_context import RedisFailoverContext
from chaos.options import option
from chaos.steps.redis_cluster import RedisRunConfig, choose_node
from chaos.steps.redis_failover import (
    FailoverCtx,
    back_since,
    chooser,
    failover_plan,
    fault_detail,
    hold_seconds,
    record_fault,
    set_victim,
)
from chaos.steps.redis_failover_measure import FAILOVER_CHECKS, REDIS_CHECKS, REDIS_KNOWN

NAME = "master-pause"
SUMMARY = "SIGSTOP a Redis Cluster master past the node timeout, then resume it: failover, stale-master writes"
HEADLINE = ["failover_seconds", "pause_seconds", "demote_seconds", "stale_master_acknowledged_writes",
            "write_unavailable_seconds", "rejoin_seconds", "lost_writes", "lost_increments"]
KNOWN = REDIS_KNOWN | {"demote_seconds", "stale_master_acknowledged_writes", "stale_master_lost_writes",
                       "stale_master_write_window_seconds", "pause_seconds"}


@dataclass
class MasterPauseConfig(RedisRunConfig):
    pause_seconds: float | None = option(None, "How long the master stays frozen [default: 2 × node timeout + 2 s].")

    def validate(self) -> None:
        super().validate()
        if self.pause_seconds is not None and self.pause_seconds <= 0:
            raise ChaosError("--pause-seconds must be positive")


def pause_seconds(ctx: FailoverCtx) -> float:
    return hold_seconds(ctx, ctx.config.pause_seconds)


@chooser
def choose_victim(ctx: FailoverCtx) -> None:
    set_victim(ctx, choose_node(ctx, ctx.config.target, "master"), needs_restart=False)


@action(reads=["victim", "cluster"])
def pause_victim(ctx: FailoverCtx) -> Pause:
    victim = ctx.state.victim
    return Pause(ctx.state.cluster.backend, victim["name"], detail=fault_detail(victim) + f" for {pause_seconds(ctx):g} s")


@action(reads=["probe", "victim", "fault"])
def demoted(ctx: FailoverCtx) -> bool:
    """Wait condition: the resumed master reports itself a replica (the shared predicate)."""
    s = ctx.state.probe.latest.get(ctx.state.victim["name"])
    return bool(s and s["time"] > back_since(ctx) and is_replica(s))


def say_demoted(ctx: FailoverCtx, ok: Any) -> None:
    victim = ctx.state.victim["name"]
    if ok:
        seconds = ctx.state.probe.latest[victim]["time"] - back_since(ctx)
        ctx.say(f"{victim} demoted itself to a replica {seconds:.3f} s after it resumed")
        ctx.measured("demote_seconds", round(seconds, 6))
    else:
        ctx.say(f"{victim} did not demote itself in time")


def stale_master_part(ctx: RedisFailoverContext, run_dir: Path, samples: Any) -> list[tuple[str, Any]]:
    """resume → demotion, and the writes the old master acknowledged in between."""
    def part(m: dict[str, Any]) -> dict[str, Any]:
        resume_t = ctx.heal_t
        demote_t = first(samples, ctx.victim, resume_t, is_replica) if resume_t is not None else None
        acked = m["_victim_acked"].between(resume_t, demote_t) if resume_t is not None else []
        lost = m["_lost_keys"]  # missing when the history part failed: this part is then unknown too
        return {
            "pause_seconds": round(resume_t - ctx.fault_t, 6) if resume_t is not None else None,
            "demote_seconds": round(demote_t - resume_t, 6) if demote_t is not None and resume_t is not None else None,
            "stale_master_acknowledged_writes": len(acked),
            "stale_master_lost_writes": sum(1 for _, key in acked if key in lost),
            "stale_master_write_window_seconds": round(max(t for t, _ in acked) - resume_t, 6)
            if acked and resume_t is not None else None,
        }
    return [("stale_master", part)]


PLAN = failover_plan(
    NAME, SUMMARY, HEADLINE, known=KNOWN, choose=choose_victim,
    key="pause", make=pause_victim,
    then=lambda c: record_fault(c, "pause", signal="SIGSTOP", pause_seconds=pause_seconds(c)),
    promote_timeout=pause_seconds, hold=pause_seconds,
    after_heal=[WaitUntil("demoted", demoted, lambda c: c.config.rejoin_timeout, say_demoted,
                          when=action(reads=["promoted"])(lambda c: c.state.promoted))],
    extra=stale_master_part,
    checks=lambda _: REDIS_CHECKS + FAILOVER_CHECKS + [Check("old_master_demoted", "demote_seconds",
                                                            lambda v: v is not None)],
)


command = scenario_command(PLAN, MasterPauseConfig, help=f"""{SUMMARY}.

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
""", exclude=("failover_timeout",))
