"""The failover plan template (master-kill, master-pause, master-stop, partition): a scenario is
its victim, its fault, how long the fault is held, and the waits around it; :func:`failover_plan`
puts them between the steps every such run shares, and measures them the same way
(:mod:`chaos.steps.redis_failover_measure`).

Wait conditions use the same sample predicates as the checkers (:mod:`chaos.checkers.failover`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chaos.checkers.compose import Check
from chaos.checkers.failover import is_linked_replica_of, is_promoted
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
)
from chaos.errors import ChaosError
from chaos.measure_context import RedisFailoverContext
from chaos.runner import ClusterFinalRead, iso
from chaos.steps.client_view import with_client_checks
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
from chaos.steps.redis_failover_measure import FAILOVER_CHECKS, REDIS_CHECKS, REDIS_KNOWN, ExtraParts, measure_redis
from chaos.topology.redis_compare import compare_replicas
from chaos.topology.redis_info import parse_slot_ranges


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
        ctx.measured("failover_seconds", round(seconds, 6))


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
        ctx.measured("rejoin_seconds", round(seconds, 6))
    else:
        ctx.say(f"{victim} did not rejoin as a replica of {master} in time")


# -- the end of the run ------------------------------------------------------------------------------
@action(reads=["cluster", "probe", "fault", "clients"])
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
        return m, with_client_checks(run_dir, checks(ctx) if checks is not None else REDIS_CHECKS + FAILOVER_CHECKS)

    return Plan(name, summary, steps, measure, known or REDIS_KNOWN, headline, state=RedisFailoverState,
                context_of=RedisFailoverContext.of)
