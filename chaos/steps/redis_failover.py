"""The failover plan template (master-kill, master-pause, partition): a scenario is its victim,
its fault, how long the fault is held, and the waits around it; :func:`failover_plan` puts them
between the steps every such run shares, and measures them the same way.

Wait conditions use the same sample predicates as the checkers (:mod:`chaos.checkers.failover`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.checkers.compose import Check, measure_parts
from chaos.checkers.counts import AckedBy
from chaos.checkers.failover import cluster_down, first_promotion, first_rejoin, is_linked_replica_of, is_promoted
from chaos.engine import (
    Action,
    Do,
    FaultRecord,
    Heal,
    Inject,
    Phase,
    Plan,
    RunContext,
    SleepUntil,
    Slot,
    Step,
    WaitUntil,
    action,
    measure_live,
    read_timeline,
)
from chaos.errors import ChaosError
from chaos.measure_context import RedisFailoverContext
from chaos.runner import ClusterFinalRead, analyze_history, iso
from chaos.steps.redis_cluster import (
    RedisState,
    StatusRow,
    append_timeline,
    provision_cluster,
    require_faultable,
    server_events,
    start_probe_and_load,
    stop_load_and_probe,
)
from chaos.topology.redis_compare import compare_replicas
from chaos.topology.redis_info import parse_slot_ranges

REDIS_KNOWN = {"failover_seconds", "failover_seconds_from_log", "cluster_down_seconds", "write_unavailable_seconds",
               "write_unavailable_seconds_other_slots", "rejoin_seconds", "lost_writes", "unacked_applied_writes",
               "lost_increments", "ops.ok", "ops.fail", "ops.info", "consistency.mismatches",
               "consistency.keys_compared", "recovered_writes", "failed_applied_writes"}


class RedisFailoverState(RedisState):
    """The run state of a failover plan."""

    replicas = Slot[dict[str, str]]("name → address of the victim's replicas, which can take over its slots")
    victim_slots = Slot[list[tuple[int, int]]]("the slot ranges of the victim")
    first_slot = Slot[int | None]("the victim's first slot (the probes watch who owns it)")
    rejoin_master = Slot[str | None]("whom the victim follows again when no failover is expected", default=None)
    fault = Slot[FaultRecord]("the ledger record of the fault (its injection and heal times)")
    promoted = Slot[str | None]("the replica that took over the victim's slots, or None")
    demoted = Slot[Any]("the resumed victim reported itself a replica (or None)")
    rejoined = Slot[Any]("the victim came back as a linked replica (or None)")


FailoverCtx = RunContext[RedisFailoverState, Any]


# -- choosing the victim ---------------------------------------------------------------------------
def set_victim(ctx: FailoverCtx, victim: StatusRow, needs_restart: bool = True) -> None:
    """Record the target and, for a master, the replicas that can take over its slots."""
    require_faultable(ctx, victim["name"], needs_restart)
    rows = ctx.outcome.topology["before"]
    s = ctx.state
    s.victim = victim
    s.replicas = {r["name"]: r["address"] for r in rows if r["follows"] == victim["name"]}
    s.victim_slots = parse_slot_ranges(victim["slots"])
    s.first_slot = s.victim_slots[0][0] if s.victim_slots else None
    if victim["role"] == "master" and not s.replicas:
        raise ChaosError(f"{victim['name']} has no replica, so no failover can happen")


VICTIM = ("victim", "replicas", "victim_slots", "first_slot")  # what set_victim writes


def chooser(fn: Callable[[Any], None]) -> Action:
    """A step that picks the victim (with :func:`set_victim`)."""
    return action(reads=["cluster"], writes=[*VICTIM, "rejoin_master"])(fn)


def fault_detail(victim: StatusRow) -> str:
    slots = f" of {victim['slots']}" if victim.get("slots") else ""
    return f" ({victim['address']}, {victim['role']}{slots})"


def record_fault(ctx: FailoverCtx, kind: str, **extra: Any) -> None:
    """``result.json``'s ``fault``: what was done to which node, and when."""
    victim, record = ctx.state.victim, ctx.state.fault
    wall = ctx.run.wall(ctx.run.t0 + record.injected_t)
    ctx.outcome.fault = {"kind": kind, "target": victim["address"], "target_name": victim["name"],
                         "target_role": victim["role"], "target_slots": victim["slots"],
                         "injected_at": wall, "injected_at_iso": iso(wall), **extra}


def hold_seconds(ctx: FailoverCtx, given: float | None) -> float:
    """How long a fault is held: ``given``, or long enough for a failover (2 × node timeout + 2 s)."""
    return given or 2 * ctx.state.cluster.config.node_timeout_ms / 1000.0 + 2.0


# -- waits -----------------------------------------------------------------------------------------
@action(reads=["probe", "replicas", "first_slot", "fault"])
def promoted(ctx: FailoverCtx) -> str | None:
    """Wait condition: a replica of the victim reports itself master and owner of its first
    slot, in a sample taken after the fault."""
    s = ctx.state
    latest, fault_t = s.probe.latest, s.fault.injected_t
    for name, address in s.replicas.items():
        sample = latest.get(name)
        if sample and sample["time"] > fault_t and is_promoted(sample, address, s.first_slot):
            return name
    return None


def say_promoted(ctx: FailoverCtx, name: str | None) -> None:
    s = ctx.state
    if name is None:
        ctx.say(f"no replica took over {s.victim['slots']} in time")
    else:
        seconds = s.probe.latest[name]["time"] - s.fault.injected_t
        ctx.say(f"promoted {s.replicas[name]} ({name}) after {seconds:.2f} s")


def master_after(ctx: FailoverCtx) -> str | None:
    """The address the victim should follow once it is back: the promoted replica, or (no
    failover expected, e.g. an isolated replica) the master it followed before."""
    s = ctx.state
    return s.replicas[s.promoted] if s.promoted else s.rejoin_master


def back_since(ctx: FailoverCtx) -> float:
    """When the victim came back: the end of the fault's heal."""
    healed = ctx.state.fault.healed_t
    if healed is None:
        raise ChaosError("the fault was never healed, so the victim cannot be back")
    return healed


@action(reads=["probe", "victim", "fault", "promoted", "replicas"])
def rejoined(ctx: FailoverCtx) -> bool:
    """Wait condition: the victim is a linked replica of :func:`master_after`, in a sample taken
    after it came back."""
    sample = ctx.state.probe.latest.get(ctx.state.victim["name"])
    return bool(sample and sample["time"] > back_since(ctx) and is_linked_replica_of(sample, master_after(ctx)))


def say_rejoined(ctx: FailoverCtx, ok: Any) -> None:
    victim, master = ctx.state.victim["name"], master_after(ctx)
    if ok:
        seconds = ctx.state.probe.latest[victim]["time"] - back_since(ctx)
        ctx.say(f"{victim} rejoined as a replica of {master} after {seconds:.2f} s")
    else:
        ctx.say(f"{victim} did not rejoin as a replica of {master} in time")


# -- the end of the run ------------------------------------------------------------------------------
@action(reads=["cluster", "probe", "fault"])
def cooldown_and_stop_load(ctx: FailoverCtx) -> None:
    """Cool-down (at least 2 s, until --duration), stop the load and the probes, record the
    topology after and the servers' own log lines about the fault."""
    ctx.run.phase("cooldown")
    ctx.sleep_until(max(ctx.elapsed() + 2.0, ctx.config.duration))
    stop_load_and_probe(ctx)
    append_timeline(ctx.run.dir / "timeline.jsonl", server_events(ctx.state.cluster, ctx, ctx.state.fault.injected_t))


@action(reads=["cluster", "probe", "fault", *VICTIM])
def measure_cluster(ctx: FailoverCtx) -> None:
    """Final read of every key written, masters against their replicas, then the plan's measure."""
    cluster = ctx.state.cluster
    ctx.say("final read of every key written; comparing masters with their replicas")
    match = f"chaos:*:{ctx.run.run_id}:*" if cluster.attached else None  # the user's own data is not ours to judge
    live = {"consistency": compare_replicas(cluster, match=match), "probe_samples": ctx.state.probe.samples,
            "load_generator": ctx.state.load_generator}
    measure_live(ctx, ClusterFinalRead([s.address for s in cluster.specs]), live)


# -- measurements (pure over the run directory's files) -------------------------------------------
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
        *(extra(ctx, run_dir, samples) if extra is not None else []),
        ("consistency", lambda _: {"consistency": live["consistency"]}),
    ])
    m.update(node_timeout_ms=ctx.node_timeout_ms, probe_samples=live.get("probe_samples"),
             load_generator=live.get("load_generator"))
    return public(m)


def public(measurements: dict[str, Any]) -> dict[str, Any]:
    """Measurements without the parts' private hand-offs (keys starting with ``_``)."""
    return {k: v for k, v in measurements.items() if not k.startswith("_")}


# -- the template ------------------------------------------------------------------------------------
def failover_plan(name: str, summary: str, headline: list[str], *, choose: Action, key: str, make: Action,
                  then: Callable[[Any], None], promote_timeout: Callable[[Any], float],
                  hold: Callable[[Any], float] | None = None, expects_failover: Callable[[Any], bool] | None = None,
                  before_fault: Sequence[Step] = (), after_promotion: Sequence[Step] = (),
                  after_heal: Sequence[Step] = (), known: set[str] | None = None, extra: ExtraParts | None = None,
                  checks: Callable[[RedisFailoverContext], list[Check]] | None = None) -> Plan:
    """A failover scenario as a plan. The steps: provision, ``choose`` the victim, probes and
    load, ``before_fault``, the warm-up, the fault (``make`` under ``key``; ``then`` records it),
    the wait for a promotion (``promote_timeout``; only if ``expects_failover``), the fault held
    ``hold`` seconds from its injection, ``after_promotion``, the heal, ``after_heal``, the wait
    for the victim's return as a replica, cool-down, measure. The measurements: the shared ones
    plus ``extra``; the checks: ``checks(context)`` (default: lost writes, consistency, failover
    happened, old master rejoined)."""
    expected = action(reads=["victim"])(expects_failover) if expects_failover else None

    def rejoin_expected(ctx: FailoverCtx) -> bool:
        return bool(ctx.state.promoted) or (expects_failover is not None and not expects_failover(ctx))

    steps: list[Step] = [
        Do(provision_cluster),
        Do(choose),
        Do(start_probe_and_load),
        *before_fault,
        SleepUntil(lambda c: c.state.fault_at, reads=["fault_at"], name="warm-up"),
        Phase("fault"),
        Inject(key, make, into="fault", then=action(reads=["victim", "fault"])(then)),
        WaitUntil("promoted", promoted, promote_timeout, say_promoted, when=expected, reads=["cluster"]),
        *([SleepUntil(lambda c: c.state.fault.injected_t + hold(c), reads=["fault", "cluster"], name="hold")]
          if hold is not None else []),
        *after_promotion,
        Phase("recovery"),
        Heal(key),
        *after_heal,
        WaitUntil("rejoined", rejoined, lambda c: c.config.rejoin_timeout, say_rejoined,
                  when=action(reads=["promoted", "victim"])(rejoin_expected)),
        Do(cooldown_and_stop_load),
        Do(measure_cluster),
    ]

    def measure(run_dir: Path, ctx: RedisFailoverContext, read_final: Any,
                live: dict[str, Any]) -> tuple[dict[str, Any], list[Check]]:
        """Measurements and checks from the run directory's files, the final read, and what could
        only be measured live (``consistency``)."""
        m = measure_redis(run_dir, ctx, read_final, live, extra)
        return m, checks(ctx) if checks is not None else REDIS_CHECKS + FAILOVER_CHECKS

    return Plan(name, summary, steps, measure, known or REDIS_KNOWN, headline, state=RedisFailoverState,
                context_of=RedisFailoverContext.of)
