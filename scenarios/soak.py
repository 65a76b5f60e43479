"""soak: many fault episodes over one long run on a Redis Cluster, drawn from a seed (which
fault, against which role, when, held how long, overlapping or not), written to
``schedule.json`` before the first fault and followed exactly; ``--replay`` runs a schedule again
(whole, or one episode with ``--episode``). Each episode is measured with the single-fault
scenarios' definitions (:mod:`chaos.checkers.episodes`), and the whole run is judged too: no
acknowledged write lost anywhere, every episode back to the steady state, the share of seconds
in which every slot took writes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos import schedule as sch
from chaos.checkers import run as run_checkers
from chaos.checkers.availability import AvailabilityChecker
from chaos.checkers.compose import Check
from chaos.checkers.counts import OpCounter
from chaos.checkers.episodes import EpisodeTimeline, by_kind, measure_episodes, writable_seconds
from chaos.checkers.failover import is_promoted
from chaos.engine import Do, Phase, Plan, RunContext, Slot, action, measure_live
from chaos.engine.command import scenario_command
from chaos.engine.rundir import STARTED_FILE
from chaos.engine.verdict import SCHEMA_VERSION
from chaos.errors import ChaosError
from chaos.faults import Kill, Partition, Pause
from chaos.history import HISTORY_FILE, OK, merge_histories, read_history, records
from chaos.measure_context import SoakContext
from chaos.options import option
from chaos.runner import ClusterFinalRead, analyze_history, iso
from chaos.steps.redis_cluster import (
    RedisRunConfig,
    RedisState,
    append_timeline,
    provision_cluster,
    require_own_addresses,
    server_events,
    start_probe_and_load,
    stop_load_and_probe,
)
from chaos.steps.redis_failover_measure import public
from chaos.topology.redis_compare import compare_replicas
from chaos.topology.redis_info import parse_slot_ranges

NAME = "soak"
SUMMARY = "Many seeded fault episodes (kill, pause, partition, ...) over one long run: judged episode by episode"
HEADLINE = ["episodes_total", "episodes_ok", "failovers", "lost_writes", "writable_fraction",
            "longest_unwritable_seconds", "worst_episode"]
KNOWN = {"episodes_total", "episodes_ok", "episodes_not_recovered", "failovers", "lost_writes", "lost_increments",
         "unacked_applied_writes", "writable_fraction", "unwritable_seconds", "longest_unwritable_seconds",
         "worst_episode", "worst_episode_write_unavailable_seconds", "consistency.mismatches", "ops.ok", "ops.fail"}


@dataclass
class SoakConfig(RedisRunConfig):
    duration: float = option(600.0, "Seconds of load; episodes are drawn until one no longer fits (1200 = 20 min).")
    rate: float | None = option(1000.0, "Target ops/s over all users, paced; 0 = unpaced (here ~5-10k ops/s: the history "
                                "then grows by ~800 MB an hour, against ~150 MB at 1000/s).")
    faults: str = option("kill,pause,partition", "Fault kinds to draw from (comma-separated): "
                         + ", ".join(sch.KINDS) + " (stale: cut a master's replication stream, then kill it: a forced "
                         "loss).")
    interval: str = option("40s±15s", "Time between episode starts: MEAN±JITTER (uniform), e.g. 40s±15s, 2m±30s.")
    hold: str = option("auto", "Seconds a pause, partition or stopped replica is held, or 'auto' (2 × node timeout "
                       "+ 2 s); a kill is healed once a replica took over.")
    overlap: float = option(0.0, "Probability that an episode gets a second one starting while it is still active.")
    replay: str | None = option(None, "Follow this schedule.json (from an earlier soak) instead of drawing one: the "
                                "same episodes at the same offsets against the same roles.", metavar="FILE")
    episode: int | None = option(None, "With --replay: only episode K (and the one it overlaps), right after the "
                                 "warm-up.", metavar="K")
    recover_timeout: float | None = option(None, "Seconds after a heal for the cluster to be steady again (every node "
                                           "up, cluster ok, every master with a linked replica) [default: 10 × node "
                                           "timeout + 20 s].")
    stale_seconds: float = option(2.0, "stale episodes: seconds the replication stream is cut before the kill.")

    def validate(self) -> None:
        super().validate()
        sch.parse_faults(self.faults)
        sch.parse_interval(self.interval)
        self.hold_seconds()
        if not 0.0 <= self.overlap <= 1.0:
            raise ChaosError("--overlap is a probability between 0 and 1")
        if self.episode is not None and not self.replay:
            raise ChaosError("--episode K replays one episode of a schedule: give --replay schedule.json too")
        if self.replay and not Path(self.replay).is_file():
            raise ChaosError(f"--replay {self.replay}: no such file")
        if self.masters < 2:
            raise ChaosError("a soak needs at least 2 masters")

    def hold_seconds(self) -> float | None:
        if self.hold == "auto":
            return None
        try:
            value = float(self.hold)
        except ValueError:
            raise ChaosError(f"--hold {self.hold}: give seconds or 'auto'") from None
        if value <= 0:
            raise ChaosError("--hold must be a positive number of seconds")
        return value

    def recover_wait(self, node_timeout_ms: int) -> float:
        return self.recover_timeout or node_timeout_ms / 1000.0 * 10 + 20.0


class SoakState(RedisState):
    """The run state of a soak."""

    schedule = Slot[sch.Schedule]("the schedule the run follows")
    soak_t0 = Slot[float]("run seconds the schedule's offsets count from (the load's start)")
    groups = Slot[list[Any]]("[lo, hi, name] of every master's slot range at the start")
    episodes = Slot[list[dict[str, Any]]]("each episode's record, as the run saw it live", factory=list)
    in_progress = Slot[list[int]]("the episodes begun and not finished", factory=list)
    load_end_t = Slot[float | None]("when the load stopped", default=None)


Ctx = RunContext[SoakState, SoakConfig]
EPISODES_FILE = "episodes.jsonl"


# -- the schedule ------------------------------------------------------------------------------------
@action(reads=["cluster", "probe"], writes=["schedule", "soak_t0", "groups"])
def make_schedule(ctx: Ctx) -> None:
    """Draw the schedule from the seed (or read --replay), write schedule.json, before any fault."""
    c, cluster = ctx.config, ctx.state.cluster
    timeout = cluster.config.node_timeout_ms
    ctx.state.soak_t0 = ctx.elapsed()
    if c.replay:
        schedule = sch.load(c.replay)
        if c.episode is not None:
            schedule = sch.only(schedule, c.episode, start=c.warmup)
        if schedule.node_timeout_ms != timeout:
            ctx.say(f"note: the schedule was drawn at cluster-node-timeout {schedule.node_timeout_ms} ms, this cluster "
                    f"runs {timeout} ms: the episodes' holds are the schedule's")
        ctx.say(f"replaying {c.replay}: {len(schedule.episodes)} episode(s)")
    else:
        mean, jitter = sch.parse_interval(c.interval)
        schedule = sch.build(ctx.seed, c.faults, c.duration, mean, jitter, timeout, start=c.warmup,
                             hold=c.hold_seconds(), overlap=c.overlap)
    if not schedule.episodes:
        raise ChaosError(f"no episode fits in --duration {c.duration:g} with --interval {c.interval}: give a longer "
                         "--duration")
    if any(e.kind in ("partition", "stale") for e in schedule.episodes):
        require_own_addresses(ctx, [s.name for s in cluster.specs], "a partition or stale episode")
    sch.write(ctx.run.dir / "schedule.json", schedule)
    ctx.state.schedule = schedule
    rows = ctx.outcome.topology["before"]
    ctx.state.groups = sorted([lo, hi, f"slots {lo}-{hi}"] for r in rows if r["role"] == "master"
                              for lo, hi in parse_slot_ranges(r["slots"]))
    kinds = ", ".join(f"{sum(1 for e in schedule.episodes if e.kind == k)} {k}"
                      for k in dict.fromkeys(e.kind for e in schedule.episodes))
    overlapping = sum(1 for e in schedule.episodes if e.overlaps is not None)
    ctx.say(f"schedule: {len(schedule.episodes)} episodes ({kinds}" + (f"; {overlapping} overlapping" if overlapping
                                                                         else "") +
            f"), seed {schedule.seed}, last at {schedule.episodes[-1].at:.0f} s → schedule.json")


# -- what the probes say now ---------------------------------------------------------------------------
def roles_now(ctx: Ctx) -> dict[str, str]:
    """name → "master" (it owns slots, in its own view) or "replica" (linked), from the latest samples."""
    out = {}
    for spec in ctx.state.cluster.specs:
        s = ctx.state.probe.latest.get(spec.name)
        if not s or not s.get("up"):
            continue
        if s["role"] == "master" and spec.address in (s.get("owners") or {}).values():
            out[spec.name] = "master"
        elif s["role"] == "replica" and s.get("link") == "up":
            out[spec.name] = "replica"
    return out


def steady(ctx: Ctx, since: float) -> bool:
    """Every node answered after ``since`` with cluster_state ok and every slot owned, and every
    master has a linked replica."""
    latest, specs = ctx.state.probe.latest, ctx.state.cluster.specs
    samples = [latest.get(s.name) for s in specs]
    if any(not x or not x.get("up") or x["time"] <= since or x.get("cluster_state") != "ok" for x in samples):
        return False
    masters = {s.address for s, x in zip(specs, samples) if x and x["role"] == "master"
               and s.address in (x.get("owners") or {}).values()}
    followed = {x["master"] for x in samples if x and x["role"] == "replica" and x.get("link") == "up"}
    owners = [x.get("owners") or {} for x in samples if x and x["role"] == "master"]
    return bool(masters) and masters <= followed and all(None not in o.values() for o in owners)


# -- the episodes ----------------------------------------------------------------------------------------
@dataclass
class Live:
    """An episode in progress: its record, and where it is (held → returning → done)."""

    ep: sch.Episode
    rec: dict[str, Any]
    stage: str = "held"
    keys: list[str] = field(default_factory=list)  # fault keys, in injection order
    cut_until: float | None = None  # stale: when the kill follows the cut


def group_of(ctx: Ctx, slot: int | None) -> str | None:
    return next((name for lo, hi, name in ctx.state.groups if slot is not None and lo <= slot <= hi), None)


LATE_LIMIT = 1.0  # seconds past its offset after which an episode is skipped, not injected


def base_record(ctx: Ctx, ep: sch.Episode) -> dict[str, Any]:
    """What an episode's record holds from the schedule (its target and times follow)."""
    return {"index": ep.index, "kind": ep.kind, "role": ep.role, "pick": ep.pick, "overlaps": ep.overlaps,
            "hold": ep.hold, "scheduled_t": round(ctx.state.soak_t0 + ep.at, 6)}


def skip(ctx: Ctx, ep: sch.Episode, why: str) -> None:
    rec = {**base_record(ctx, ep), "target": None, "injected_t": round(ctx.elapsed(), 6), "skipped": why}
    ctx.say(f"episode {ep.index} of {len(ctx.state.schedule.episodes)}: skipped: {why}")
    record_episode(ctx, rec)


def begin(ctx: Ctx, ep: sch.Episode, busy: set[str]) -> Live | None:
    """Choose the episode's node by its role now, record it, inject its fault."""
    s, cluster, n = ctx.state, ctx.state.cluster, len(ctx.state.schedule.episodes)
    scheduled = s.soak_t0 + ep.at
    roles = roles_now(ctx)
    name = sch.target(ep, roles, busy)
    rec = base_record(ctx, ep)
    if name is None:
        skip(ctx, ep, f"no {ep.role} free to fault (roles now: "
             + (", ".join(f"{k} {v}" for k, v in sorted(roles.items())) or "none answering") + ")")
        return None
    spec = cluster.spec(name)
    latest = s.probe.latest
    me = latest.get(name) or {}
    owned = sorted(int(slot) for slot, a in (me.get("owners") or {}).items() if a == spec.address)
    rec.update(target=name, address=spec.address, master_before=me.get("master"),
               first_slot=owned[0] if owned else None, group=group_of(ctx, owned[0] if owned else None))
    if ep.role == "master":
        rec["replicas"] = {x.name: x.address for x in cluster.specs
                           if (latest.get(x.name) or {}).get("master") == spec.address}
    else:  # a replica's fault hits the writes of nobody's slots; its master's group is where to look
        master = next((x for x in cluster.specs if x.address == me.get("master")), None)
        rec["group"] = group_of(ctx, min((int(k) for k, a in (me.get("owners") or {}).items()
                                          if master and a == master.address), default=None))
    live = Live(ep, rec)
    key = f"ep{ep.index}"
    others = [x.host for x in cluster.specs if x.name != name]
    if ep.kind in ("kill", "stop-replica"):
        fault: Any = Kill(cluster.backend, name, after_start=cluster.save)
    elif ep.kind == "pause":
        fault = Pause(cluster.backend, name)
    elif ep.kind == "partition":
        fault = Partition(ctx.state_dir, [spec.host], others, both_ways=True,
                          label=f"{name} ({spec.address}, {ep.role}) ↔ the other {len(others)} nodes")
    else:  # stale: the replication stream first, the kill after --stale-seconds
        replicas = [cluster.spec(r).host for r in rec["replicas"]]
        fault = Partition(ctx.state_dir, [spec.host], replicas, both_ways=False, src_port=spec.port,
                          name="drop-replication", heal_name="heal-replication")
        key = f"ep{ep.index}-cut"
        live.cut_until = ctx.elapsed() + ctx.config.stale_seconds
    record = ctx.inject(fault, key)
    live.keys.append(key)
    rec["injected_t"] = round(record.injected_t, 6)
    rec["late_seconds"] = round(record.injected_t - scheduled, 6)
    ctx.say(f"episode {ep.index} of {n}: {fault.describe()}" + (f" (during episode {ep.overlaps})"
                                                                 if ep.overlaps else ""))
    return live


def promoted_now(ctx: Ctx, live: Live) -> str | None:
    rec, latest = live.rec, ctx.state.probe.latest
    for name, address in (rec.get("replicas") or {}).items():
        x = latest.get(name)
        if x and x["time"] > rec["injected_t"] and is_promoted(x, address, rec.get("first_slot")):
            return name
    return None


def advance(ctx: Ctx, live: Live) -> None:
    """One step of an episode: the stale kill after its cut, the heal when its hold ends (a kill:
    once a replica took over, or the failover timeout passed), done when the cluster is steady
    again (or the recovery timeout passed)."""
    rec, now, cluster = live.rec, ctx.elapsed(), ctx.state.cluster
    timeout = cluster.config.node_timeout_ms
    if live.cut_until is not None and now >= live.cut_until:
        live.cut_until = None
        key = f"ep{live.ep.index}"
        record = ctx.inject(Kill(cluster.backend, rec["target"], after_start=cluster.save), key)
        live.keys.append(key)
        rec["killed_t"] = round(record.injected_t, 6)
        ctx.say(f"episode {live.ep.index}: killed {rec['target']} with its replication stream cut")
        return
    if live.stage == "held" and live.cut_until is None:
        if live.ep.hold is None:  # kill / stale: healed once a replica took over
            done = promoted_now(ctx, live) is not None or now >= rec["injected_t"] + ctx.config.failover_wait(timeout)
        else:
            done = now >= rec["injected_t"] + live.ep.hold
        if done:
            for key in live.keys:  # stale: the cut first, then the old master started again
                ctx.heal(key)
            healed = ctx.ledger[live.keys[-1]].healed_t
            rec["heal_t"] = round(healed if healed is not None else ctx.elapsed(), 6)
            live.stage = "returning"
    elif live.stage == "returning":
        if steady(ctx, rec["heal_t"]):
            rec["steady_t"] = round(ctx.elapsed(), 6)
            live.stage = "done"
        elif now >= rec["heal_t"] + ctx.config.recover_wait(timeout):
            rec["steady_t"] = None
            live.stage = "done"
            ctx.say(f"episode {live.ep.index}: the cluster was not steady {ctx.config.recover_wait(timeout):g} s after "
                    "the heal")
        if live.stage == "done":
            finished(ctx, live)


def finished(ctx: Ctx, live: Live) -> None:
    rec, s = live.rec, ctx.state
    n = len(s.schedule.episodes)
    left = max(0.0, s.soak_t0 + ctx.config.duration - ctx.elapsed())
    promoted = promoted_now(ctx, live) if rec.get("replicas") else None
    parts = [f"promoted {promoted}" if promoted else None,
             f"steady {rec['steady_t'] - rec['heal_t']:.2f} s after the heal" if rec.get("steady_t") else "NOT steady"]
    ctx.say(f"episode {live.ep.index} of {n} done ({live.ep.kind} of {rec['target']}): "
            + "; ".join(p for p in parts if p) + f"; about {left / 60:.1f} min left")
    record_episode(ctx, rec)


def record_episode(ctx: Ctx, rec: dict[str, Any]) -> None:
    """Into the state (for the measure) and, as it happens, into episodes.jsonl (a run that ends
    early keeps what it finished)."""
    ctx.state.episodes.append(rec)
    ctx.state.in_progress[:] = [i for i in ctx.state.in_progress if i != rec["index"]]
    with open(ctx.run.dir / EPISODES_FILE, "a") as out:
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")


def write_started(ctx: Ctx) -> None:
    """started.json: what `chaos analyze` needs to judge this soak if the harness is killed and
    never writes result.json (the run's identity, config, topology and measure context)."""
    s = ctx.state
    context = SoakContext(phases=list(ctx.run.phases), groups=s.groups, soak_t0=s.soak_t0,
                          node_timeout_ms=s.cluster.config.node_timeout_ms)
    (ctx.run.dir / STARTED_FILE).write_text(json.dumps({
        "schema_version": SCHEMA_VERSION, "scenario": ctx.plan.name, "kind": SoakState.KIND, "run_id": ctx.run.run_id,
        "backend": ctx.config.backend, "seed": ctx.seed, "started_at": iso(ctx.started_wall),
        "config": asdict(ctx.config), "topology": ctx.outcome.topology, "headline": HEADLINE,
        "context": context.to_json()}, indent=1, default=str))


@action(reads=["schedule", "soak_t0", "probe", "cluster", "groups"], writes=["episodes", "in_progress"])
def run_schedule(ctx: Ctx) -> None:
    """Follow the schedule: each episode starts at its offset (whatever the last one's state: the
    schedule is followed exactly, and whether the cluster was steady before it is measured)."""
    s = ctx.state
    write_started(ctx)
    pending: list[sch.Episode] = list(s.schedule.episodes)
    active: list[Live] = []
    ctx.cleanup(say_in_progress, ctx)
    while pending or active:
        now = ctx.elapsed()
        while pending and now >= s.soak_t0 + pending[0].at:
            ep = pending.pop(0)
            s.in_progress.append(ep.index)
            late = ctx.elapsed() - (s.soak_t0 + ep.at)
            if late > LATE_LIMIT:  # the harness itself fell behind: never pile overdue faults up at once
                skip(ctx, ep, f"the harness reached it {late:.2f} s after its offset")
                continue
            live = begin(ctx, ep, {x.rec["target"] for x in active})
            if live is not None:
                active.append(live)
        for live in list(active):
            advance(ctx, live)
            if live.stage == "done":
                active.remove(live)
        nxt = s.soak_t0 + pending[0].at if pending else now + 0.01
        ctx.sleep_until(min(now + 0.01, nxt) if active else nxt)
    s.episodes.sort(key=lambda r: r["index"])


def say_in_progress(ctx: Ctx) -> None:
    if ctx.state.in_progress:
        ctx.say(f"the run ended during episode(s) {', '.join(map(str, ctx.state.in_progress))}; "
                f"{len(ctx.state.episodes)} finished (in {EPISODES_FILE})")


@action(reads=["cluster", "probe", "soak_t0", "episodes"], writes=["load_end_t"])
def cooldown(ctx: Ctx) -> None:
    ctx.run.phase("cooldown")
    ctx.sleep_until(max(ctx.elapsed() + 2.0, ctx.state.soak_t0 + ctx.config.duration))
    stop_load_and_probe(ctx)
    ctx.state.load_end_t = ctx.elapsed()
    first = min((e["injected_t"] for e in ctx.state.episodes), default=ctx.state.soak_t0)
    append_timeline(ctx.run.dir / "timeline.jsonl", server_events(ctx.state.cluster, ctx, first))


@action(reads=["cluster", "probe", "episodes", "groups", "load_end_t"])
def measure_soak(ctx: Ctx) -> None:
    cluster = ctx.state.cluster
    ctx.say("final read of every key written; comparing masters with their replicas")
    live = {"consistency": compare_replicas(cluster), "probe_samples": ctx.state.probe.samples,
            "load_generator": ctx.state.load_generator}
    measure_live(ctx, ClusterFinalRead([x.address for x in cluster.specs]), live)


# -- measure ---------------------------------------------------------------------------------------------
class AckTimes:
    """The acknowledgement time of each write to one of ``keys`` (the lost ones)."""

    def __init__(self, keys: set[str]):
        self.keys = keys
        self.times: list[float] = []

    def feed(self, invoke: Any, completion: Any) -> None:
        if completion is not None and completion.type == OK and invoke.f == "write" and invoke.key in self.keys:
            self.times.append(completion.time)


def episodes_summary(episodes: list[dict[str, Any]], availability: dict[str, Any], soak_t0: float,
                     end_t: float) -> dict[str, Any]:
    """The whole run's figures from its measured episodes (a finished soak's, or a killed one's)."""
    worst = max((e for e in episodes if not e["skipped"]), key=lambda e: e["write_unavailable_seconds"], default=None)
    return {
        "episodes_total": len(episodes),
        "episodes_ok": sum(1 for e in episodes if e["outcome"] == "ok"),
        "episodes_not_recovered": sum(1 for e in episodes if not e["skipped"] and e["steady_seconds"] is None),
        "episodes_skipped": sum(1 for e in episodes if e["skipped"]),
        "failovers": sum(1 for e in episodes if e["failover_seconds"] is not None),
        **writable_seconds(availability, soak_t0, end_t),
        "worst_episode": worst["index"] if worst else None,
        "worst_episode_write_unavailable_seconds": worst["write_unavailable_seconds"] if worst else None,
        "by_kind": by_kind(episodes),
        "episodes": episodes,
    }


def measure(run_dir: Path, ctx: SoakContext, read_final: Any, live: dict[str, Any]) -> tuple[dict[str, Any], list[Check]]:
    names: list[str | None] = [None] * 16384
    for lo, hi, name in ctx.groups:
        names[lo : hi + 1] = [name] * (hi - lo + 1)
    analysis = analyze_history(run_dir / "history.jsonl", read_final, lambda op: names[key_slot(op.key.encode())],
                               [tuple(p) for p in ctx.phases])
    lost_keys = analysis.writes.pop("lost_keys")
    (run_dir / "lost-writes.txt").write_text("".join(f"{k}\n" for k in lost_keys))
    acks = AckTimes(set(lost_keys))
    if lost_keys:
        run_checkers(read_history(run_dir / "history.jsonl"), acks)
    timeline = EpisodeTimeline(ctx.episodes)
    for sample in records(run_dir / "timeline.jsonl"):
        timeline.feed(sample)
    end_t = ctx.load_end_t if ctx.load_end_t is not None else max((e["injected_t"] for e in ctx.episodes), default=0)
    episodes = measure_episodes(ctx.episodes, timeline, analysis.availability, acks.times, end_t, ctx.node_timeout_ms)
    lost_by_episode = sum(e["lost_writes"] for e in episodes)
    m = {
        **episodes_summary(episodes, analysis.availability, ctx.soak_t0, end_t),
        "lost_writes": analysis.writes["lost"],
        "lost_writes_outside_episodes": analysis.writes["lost"] - lost_by_episode,
        "unacked_applied_writes": analysis.writes["unacked_applied"],
        "lost_increments": analysis.counters["lost_increments"],
        "in_progress_at_end": ctx.in_progress,
        "ops": analysis.ops, "latency_ms": analysis.latency, "writes": analysis.writes,
        "counters": {k: v for k, v in analysis.counters.items() if k != "per_key"},
        "consistency": live["consistency"], "node_timeout_ms": ctx.node_timeout_ms,
        "probe_samples": live.get("probe_samples"), "load_generator": live.get("load_generator"),
    }
    return public(m), CHECKS


class LastTime:
    """The latest time any operation of the history was invoked or completed at."""

    def __init__(self) -> None:
        self.t = 0.0

    def feed(self, invoke: Any, completion: Any) -> None:
        self.t = max(self.t, invoke.time, completion.time if completion is not None else 0.0)


def measure_partial(run_dir: Path, started: dict[str, Any]) -> tuple[dict[str, Any], list[Check], dict[str, Any]]:
    """A soak whose harness was killed: the load's shards merged into the history, the episodes
    it finished (episodes.jsonl) measured as a finished soak measures them, against the
    availability of the history's writes; those it had begun are named. Lost writes, lost
    increments and the replicas' agreement stay unknown: the keys were never read back."""
    shards = sorted(run_dir.glob("history-*.jsonl"))
    if shards and not (run_dir / HISTORY_FILE).exists():
        merge_histories(shards, run_dir / HISTORY_FILE)
        for shard in shards:
            shard.unlink()
    ctx = SoakContext.from_json(started["context"])
    assert isinstance(ctx, SoakContext)
    episodes = list(records(run_dir / EPISODES_FILE)) if (run_dir / EPISODES_FILE).exists() else []
    names: list[str | None] = [None] * 16384
    for lo, hi, name in ctx.groups:
        names[lo : hi + 1] = [name] * (hi - lo + 1)

    def group(op: Any) -> str | None:
        return names[key_slot(op.key.encode())]

    availability = AvailabilityChecker(group, fs=("write",))
    ops, last = OpCounter(), LastTime()
    if (run_dir / HISTORY_FILE).exists():
        run_checkers(read_history(run_dir / HISTORY_FILE), availability, ops, last)
    end_t = last.t
    done = {e["index"] for e in episodes}
    schedule = sch.load(run_dir / "schedule.json")
    begun = [ep.index for ep in schedule.episodes if ctx.soak_t0 + ep.at <= end_t and ep.index not in done]
    timeline = EpisodeTimeline(episodes)
    for sample in records(run_dir / "timeline.jsonl"):
        timeline.feed(sample)
    measured = measure_episodes(episodes, timeline, availability.result(), [], end_t, ctx.node_timeout_ms)
    for e in measured:
        e["lost_writes"] = None  # unknown: never read back
    why = (f"the harness stopped {end_t:.0f} s into the run (killed?), before its final read"
           + (f", during episode(s) {', '.join(map(str, begun))}" if begun else "")
           + f"; the {len(measured)} episode(s) it finished are judged, lost writes are unknown")
    unknown = "unknown: the run stopped before it read its keys back"
    m = {
        **episodes_summary(measured, availability.result(), ctx.soak_t0, end_t),
        "in_progress_at_end": begun, "ops": ops.result(),
        "node_timeout_ms": ctx.node_timeout_ms, "partial_reason": why,
        "measurement_errors": {"lost_writes": unknown, "lost_increments": unknown, "consistency": unknown},
    }
    ctx.episodes, ctx.in_progress, ctx.load_end_t = episodes, begun, end_t
    return public(m), CHECKS, ctx.to_json()


CHECKS = [
    Check("no_lost_writes", "lost_writes", lambda v: v == 0, "==0"),
    Check("no_lost_increments", "lost_increments", lambda v: v == 0, "==0"),
    Check("replicas_consistent", "consistency", lambda c: c["consistent"], "==0", shown=lambda c: c["mismatches"]),
    Check("every_episode_recovered", "episodes_not_recovered", lambda v: v == 0, "==0"),
    Check("every_episode_ok", "episodes", lambda eps: all(e["outcome"] == "ok" for e in eps), "all ok",
          shown=lambda eps: ", ".join(f"{e['index']}: {e['outcome']}" for e in eps if e["outcome"] != "ok") or "all ok"),
]

PLAN = Plan(NAME, SUMMARY, [
    Do(provision_cluster),
    Do(start_probe_and_load),
    Do(make_schedule),
    Phase("soak"),
    Do(run_schedule),
    Do(cooldown),
    Do(measure_soak),
], measure, KNOWN, HEADLINE, state=SoakState, context_of=SoakContext.of, partial=measure_partial)


command = scenario_command(PLAN, SoakConfig, exclude=("attach", "password_env", "allow_remote", "keep_data", "target",
                                                      "clients", "client_rate", "client_workers", "client_profile"),
                           help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up, drives load through it, and follows a
schedule of fault episodes drawn from the seed: every --interval (MEAN±JITTER) a fault from
--faults against a master or a replica chosen by its role at that moment, held --hold seconds
(a kill: until a replica took over), with --overlap a second fault during the first. The
schedule is written to schedule.json before the first fault; --replay runs it again (whole, or
--episode K alone). Each episode is measured as the single-fault scenarios measure (promotion,
write outage of the victim's slots, rejoin, lost writes in its window, time back to the steady
state), and the run is judged whole: no acknowledged write lost, every episode recovered, the
share of seconds in which every slot took writes. episodes.jsonl grows as episodes finish.

\b
Examples:
  chaos run soak --duration 1200 --faults kill,pause,partition --interval 40s±15s --seed 7
  chaos run soak --duration 600 --overlap 0.3 --node-timeout-ms 1000
  chaos run soak --replay runs/soak-…/schedule.json --episode 12

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
