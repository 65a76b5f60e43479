"""source-kill: the MySQL/MariaDB source dies under write load; the replica is promoted, the
load moves to it, the old source comes back and rejoins (or is rebuilt); what was lost?

Steady state → (semi-sync on, per --semi-sync) → heartbeat, replica probe, role watch, load
through the source's address (``endpoint.json``, which the promotion rewrites, as a virtual IP
or a proxy moves) → warm-up → [--mode partition: cut the replica's replication connection for
--partition-seconds, past the semi-sync timeout] → kill (or stop) the source → promote the
replica (wait until its relay log is applied unless --promote immediate; stop and reset
replication; writable) → move the load → after --down-seconds start the old source read-only →
list its errant transactions → rejoin it as a replica when it has none, else rebuild it from the
new source (--rejoin) → cool-down → every acknowledged insert read back on the new source, every
table compared between the two.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.checkers.compose import Check, measure_parts
from chaos.checkers.counts import AckedBy, WindowCounter
from chaos.checkers.replication import lag_summary
from chaos.engine import (
    Do,
    FaultRecord,
    Heal,
    Inject,
    Phase,
    Plan,
    ReadFinal,
    RunContext,
    SleepUntil,
    Slot,
    action,
    measure_live,
    read_timeline,
)
from chaos.engine.command import scenario_command
from chaos.errors import ChaosError
from chaos.faults import Fault, Kill, Stop
from chaos.faults.partition import CutConnection
from chaos.interrupts import deferred_interrupts
from chaos.measure_context import SourceKillContext
from chaos.observe.mysql_roles import RoleWatch
from chaos.options import option
from chaos.runner import analyze_history, iso
from chaos.settings import ReplicationConfig
from chaos.steps.client_view import clients_part, stop_clients, with_client_checks
from chaos.steps.mysql_replication import ReplicationState, provision_pair, start_observers_and_load
from chaos.topology.mysql_compare import compare_tables, risky_settings, row_reader
from chaos.topology.mysql_failover import (
    PROMOTE_MODES,
    REJOIN_MODES,
    SEMI_SYNC_MODES,
    disable_semi_sync,
    enable_semi_sync,
    errant_transactions,
    promote,
    rebuild,
    received_everything_applied,
    rejoin_as_replica,
)
from chaos.topology.mysql_replication import scalar, source_position, wait_replica_reached
from chaos.wait import wait_until

NAME = "source-kill"
SUMMARY = "Kill the MySQL/MariaDB source under write load: promotion, lost commits, errant transactions, semi-sync"
MODES = ("kill", "stop", "partition")
HEADLINE = ["write_unavailable_seconds", "promotion_seconds", "lost_commits", "unacked_applied_commits",
            "errant_transactions", "semi_sync_fallback", "rejoin_seconds", "checksum_match"]
KNOWN = set(HEADLINE) | {"ops.ok", "ops.fail", "ops.info", "writes_after_promotion", "lost_commits_after_fallback",
                         "max_lag_seconds", "semi_sync_no_ack_commits"}
ENDPOINT_FILE = "endpoint.json"


@dataclass
class SourceKillConfig(ReplicationConfig):
    users: int = 8
    rate: float | None = option(1000.0, "Target statements/s over all users, paced; 0 = as fast as possible (more "
                                "commits in flight when the source dies: more to lose).")
    mode: str = option("kill", "How the source dies: kill (SIGKILL), stop (graceful shutdown), or partition: the "
                       "replica's replication connection is cut for --partition-seconds (past the semi-sync timeout, "
                       "so the source falls back to async and acknowledges what the replica never gets), then the "
                       "source is killed.", choices=MODES)
    semi_sync: str = option("off", "Replication between the pair: off (asynchronous), after-sync (the commit waits for "
                            "the replica's acknowledgement after the binary log sync, before the engine commit: "
                            "lossless) or after-commit.", choices=SEMI_SYNC_MODES)
    semi_sync_timeout_ms: int = option(10000, "rpl_semi_sync_*_timeout: how long a commit waits for the replica "
                                       "before the source falls back to async (the servers' default is 10000).")
    promote: str = option("after-apply", "after-apply: wait until the replica applied its relay log before making it "
                          "writable (what orchestrators do); immediate: promote at once, dropping what it received but "
                          "had not applied.", choices=PROMOTE_MODES)
    rejoin: str = option("as-replica", "What becomes of the old source: as-replica (follow the new source when it "
                         "holds no errant transaction, else say why and rebuild it), rebuild (always: a logical copy "
                         "of the new source), no (leave it read-only, on its own).", choices=REJOIN_MODES)
    down_seconds: float = option(5.0, "How long the old source stays down before it is started again.")
    partition_seconds: float | None = option(None, "--mode partition: how long the replication connection is cut "
                                             "before the kill; default: the semi-sync timeout + 3 s.")
    apply_timeout: float = option(60.0, "--promote after-apply: how long to wait for the relay log to be applied.")

    def validate(self) -> None:
        super().validate()
        if self.source:
            raise ChaosError("source-kill promotes the replica and rebuilds the old source: it runs only on a pair the "
                             "harness starts (or `chaos up mysql-replication`); drop --source/--replica")
        if self.semi_sync_timeout_ms < 1:
            raise ChaosError("--semi-sync-timeout-ms must be at least 1")
        if self.down_seconds < 0 or self.apply_timeout <= 0:
            raise ChaosError("--down-seconds must be >= 0 and --apply-timeout positive")
        if self.partition_seconds is not None and not 0 < self.partition_seconds <= 50:
            raise ChaosError("--partition-seconds must be between 0 and 50 (the replica reconnects after its 60 s "
                             "net timeout, which the cut does not hold back)")

    @property
    def cut_seconds(self) -> float:
        if self.partition_seconds is not None:
            return self.partition_seconds
        return (self.semi_sync_timeout_ms / 1000 if self.semi_sync != "off" else 0) + 3.0


class SourceKillState(ReplicationState):
    roles = Slot[RoleWatch]("each server's up / read_only / semi-sync status, sampled into roles.jsonl")
    semi_sync = Slot[Any]("semi-sync as the source said it after it was turned on (None: async)")
    link = Slot[FaultRecord]("the ledger record of the replication link's cut (--mode partition)")
    old_source = Slot[Any]("the node that was the source when the run began")
    promoted = Slot[Any]("the promotion: its steps' times and the positions it noted")
    rejoined = Slot[Any]("how the old source came back: errant transactions, rejoin or rebuild, when")


SourceKillCtx = RunContext[SourceKillState, Any]  # with a SourceKillConfig


def write_endpoint(run_dir: Path, spec: Any) -> None:
    """Point the load at ``spec`` (atomically: a load process never reads half a file)."""
    path = run_dir / ENDPOINT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"host": spec.host, "port": spec.port, "node": spec.name}))
    os.replace(tmp, path)


@action(reads=["topo"], writes=["semi_sync", "roles", "old_source", "heartbeat", "probe", "fault_at", "clients"])
def semi_sync_observers_and_load(ctx: SourceKillCtx) -> None:
    topo, config, run = ctx.state.topo, ctx.config, ctx.run
    ctx.state.old_source = topo.source
    ctx.state.semi_sync = None
    if config.semi_sync == "off":
        left_on = disable_semi_sync(topo)
        if left_on:
            ctx.say(f"semi-sync was still on at {', '.join(left_on)} (an earlier run): turned off, this run is async")
    else:
        ctx.state.semi_sync = enable_semi_sync(topo, config.semi_sync, config.semi_sync_timeout_ms)
        ctx.say(f"semi-sync {config.semi_sync} on, timeout {config.semi_sync_timeout_ms} ms: "
                f"{ctx.state.semi_sync['replicas']} semi-sync replica(s), status {ctx.state.semi_sync['status']}")
    ctx.outcome.topology["semi_sync"] = ctx.state.semi_sync
    def nodes() -> list[tuple[str, str, Any]]:
        return [(s.name, s.address, lambda s=s: topo.admin(s, 1)) for s in topo.specs]

    roles = RoleWatch(nodes, topo.dialect, run.dir / "roles.jsonl", run.t0, run.wall0)
    roles.start()
    ctx.state.roles = roles
    ctx.cleanup(roles.stop)
    write_endpoint(run.dir, topo.source)
    start_observers_and_load(ctx, endpoint_file=run.dir / ENDPOINT_FILE)


@action(reads=["topo"])
def cut_link(ctx: SourceKillCtx) -> Fault | None:
    """--mode partition: drop the packets of the replica's replication connection (found by its
    port on the source's process list), both ways; clients still reach the source."""
    if ctx.config.mode != "partition":
        return None
    topo = ctx.state.topo
    conn = topo.admin(topo.source)
    try:
        peer = scalar(conn, "SELECT HOST FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%%' "
                       "LIMIT 1")
    finally:
        conn.close()
    if not peer or ":" not in str(peer):
        raise ChaosError(f"the source {topo.source.address} shows no replication connection to cut")
    host, _, port = str(peer).rpartition(":")
    src = topo.source
    return CutConnection(ctx.state_dir, src.host, src.port, host, int(port),
                         label=f"replication {src.address} ↔ {host}:{port}", name="cut-replication",
                         heal_name="heal-replication")


@action(reads=["topo"])
def source_fault(ctx: SourceKillCtx) -> Fault:
    """SIGKILL or graceful stop of the source; healed by starting it again (read-only: the
    promotion rewrote its my.cnf)."""
    topo, mode = ctx.state.topo, ctx.config.mode
    start: dict[str, Any] = {"ready_timeout": 120.0, "after_start": topo.save}  # its new pid, in state.json
    return Stop(topo.backend, topo.source.name, timeout=60, **start) if mode == "stop" \
        else Kill(topo.backend, topo.source.name, **start)


@action(reads=["topo", "fault", "old_source"])
def after_fault(ctx: SourceKillCtx) -> None:
    old = ctx.state.old_source
    wall = ctx.run.wall(ctx.run.t0 + ctx.state.fault.injected_t)
    ctx.outcome.fault = {"kind": "stop" if ctx.config.mode == "stop" else "kill", "target": old.address,
                         "target_name": old.name, "target_role": "source", "injected_at": wall,
                         "injected_at_iso": iso(wall), "mode": ctx.config.mode}


@action(reads=["topo"], writes=["promoted"])
def promote_replica(ctx: SourceKillCtx) -> None:
    topo, run = ctx.state.topo, ctx.run
    new = topo.replica
    ctx.say(f"promoting {new.name} ({new.address}): "
            + ("at once" if ctx.config.promote == "immediate" else "waiting for its relay log to be applied"))
    marks: list[dict[str, Any]] = []

    def mark(step: str, detail: dict[str, Any]) -> None:
        run.nemesis_op("ok", f"promote:{step}", detail)
        marks.append({"step": step, "t": round(ctx.elapsed(), 6), **detail})

    run.nemesis_op("invoke", "promote", {"node": new.name})
    started = ctx.elapsed()
    if ctx.config.promote == "after-apply":  # the wait may be long, and is safe to cut short
        wait_until(lambda: received_everything_applied(topo), ctx.config.apply_timeout, 0.05, retry_on=(ChaosError,))
    with deferred_interrupts():  # never half promoted: Ctrl-C / SIGTERM wait for the roles to swap
        steps = promote(topo, ctx.config.promote == "immediate", ctx.config.apply_timeout, mark)
        write_endpoint(run.dir, topo.source)
    moved = ctx.elapsed()
    run.nemesis_op("ok", "promote", {"node": new.name, "address": new.address})
    ctx.state.promoted = {**steps, "started_t": round(started, 6), "writable_t": marks[-1]["t"],
                          "load_moved_t": round(moved, 6), "marks": marks, "node": new.name, "address": new.address}
    ctx.say(f"{new.name} is the source now, writable after {steps['seconds']:.3f} s; the load moves to {new.address}")
    ctx.measured("promotion_seconds", steps["seconds"])


@action(reads=["topo", "promoted", "fault", "old_source"], writes=["rejoined"])
def bring_back_old_source(ctx: SourceKillCtx) -> None:
    """The old source is up again (read-only): its errant transactions, then --rejoin."""
    topo, config = ctx.state.topo, ctx.config
    old = topo.replica
    errant = errant_transactions(topo, ctx.state.promoted)
    listed = errant["transactions"]
    shown = listed if isinstance(listed, str) else ", ".join(listed[:5]) + (" …" if len(listed) > 5 else "")
    ctx.say(f"{old.name} is back (read-only); errant transactions: {errant['count']}"
            + (f" ({shown})" if errant["count"] else ""))
    done: dict[str, Any] = {"errant": errant, "how": "no", "why": None, "rebuild": None, "started_t": ctx.elapsed()}
    how = config.rejoin
    if how == "as-replica" and errant["count"] != 0:
        done["why"] = (f"{old.name} holds {errant['count'] if errant['count'] is not None else 'unknown'} transaction(s) "
                       "the new source never had: following it would keep them and diverge")
        ctx.say(f"not rejoining as a replica: {done['why']}; rebuilding it from {topo.source.name}")
        how = "rebuild"
    if how == "as-replica":
        rejoin_as_replica(topo, ctx.state.promoted)
        ctx.say(f"{old.name} follows {topo.source.name} again")
    elif how == "rebuild":
        done["rebuild"] = rebuild(topo, ctx.say)
    done["how"] = how
    if how != "no":
        reached = wait_replica_reached(topo, source_position(topo), config.catchup_timeout)
        done["caught_up"] = reached
        done["caught_up_t"] = round(ctx.elapsed(), 6) if reached else None
        ctx.say(f"{old.name} {'caught up with' if reached else 'did NOT catch up with'} {topo.source.name}")
        if reached and ctx.state.fault.heal_started_t is not None:
            ctx.measured("rejoin_seconds", round(done["caught_up_t"] - ctx.state.fault.heal_started_t, 6))
    ctx.state.rejoined = done


@action(reads=["topo", "heartbeat", "probe", "roles", "rejoined", "clients"])
def settle(ctx: SourceKillCtx) -> None:
    topo = ctx.state.topo
    ctx.run.phase("cooldown")
    ctx.sleep_until(max(ctx.elapsed() + 2.0, ctx.config.duration))
    stop_clients(ctx, ctx.state.clients)
    ctx.load.stop()
    ctx.state.heartbeat.stop()
    final_target = source_position(topo)
    settled = None
    if ctx.state.rejoined["how"] != "no":
        settled = wait_replica_reached(topo, final_target, ctx.config.catchup_timeout)
    ctx.state.probe.stop()
    ctx.state.roles.stop()
    ctx.say(f"load stopped after {ctx.elapsed():.1f} s" + ("" if settled is None else
            f"; the old source {'has' if settled else 'has NOT'} applied everything ({final_target})"))
    ctx.outcome.topology["after"] = topo.status()


def fallback_evidence(log: Path) -> list[str]:
    """The source's own log lines of a semi-sync timeout (MariaDB and MySQL word it alike)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    return [line.strip()[:300] for line in text.splitlines()
            if "Timeout waiting for reply of binlog" in line or "Semi-sync replication switched OFF" in line][:5]


@action(reads=["topo", "heartbeat", "probe", "old_source", "rejoined", "semi_sync"])
def measure_run(ctx: SourceKillCtx) -> None:
    topo = ctx.state.topo
    rejoined = ctx.state.rejoined["how"] != "no"
    ctx.say("reading back every insert on the new source" + ("; checksumming every table on both" if rejoined else ""))
    live: dict[str, Any] = {
        "tables": compare_tables(topo) if rejoined else None, "findings": risky_settings(topo),
        "semi_sync_fallback_log": fallback_evidence(ctx.state.old_source.log_path) if ctx.state.semi_sync else [],
        "heartbeats": ctx.state.heartbeat.beats, "probe_samples": ctx.state.probe.samples,
    }
    measure_live(ctx, row_reader(topo, topo.source), live)  # the new source's rows judge the run


PLAN_STEPS = [
    Do(provision_pair),
    Do(semi_sync_observers_and_load),
    SleepUntil(lambda c: c.state.fault_at, reads=["fault_at"], name="warm-up"),
    Phase("fault"),
    Inject("link", cut_link, into="link"),
    SleepUntil(lambda c: c.state.link.injected_t + c.config.cut_seconds if c.config.mode == "partition" else 0,
               reads=["link"], name="cut"),
    Inject("source", source_fault, into="fault", then=after_fault),
    Heal("link"),
    Phase("promotion"),
    Do(promote_replica),
    SleepUntil(lambda c: c.state.fault.injected_t + c.config.down_seconds, reads=["fault"], name="outage"),
    Phase("recovery"),
    Heal("source"),
    Do(bring_back_old_source),
    Do(settle),
    Do(measure_run),
]


def _role_timeline(run_dir: Path, old: str, kill_t: float) -> dict[str, Any]:
    """When semi-sync fell back to async on the old source (its own status variable, ON → OFF
    before the kill), and how many commits it made without an acknowledgement."""
    path = run_dir / "roles.jsonl"
    seen_on = False
    fallback_t = last_on = None
    no_tx = None
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                s = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash
            if s.get("node") != old or not s.get("up") or s["time"] > kill_t:
                continue
            if s.get("semi_sync_no_tx") is not None:  # a counter: its highest value before the kill
                no_tx = max(no_tx or 0, s["semi_sync_no_tx"])
            if s.get("semi_sync") is True:
                seen_on = True
                last_on = s["time"] if fallback_t is None else last_on
            elif s.get("semi_sync") is False and seen_on and fallback_t is None:
                fallback_t = s["time"]
    # the fallback happened between the last sample that saw semi-sync on and the first that saw it off
    return {"seen_on": seen_on, "fallback_t": fallback_t, "last_on_t": last_on if fallback_t is not None else None,
            "no_ack_commits": no_tx}


CHECKS = [
    Check("no_lost_commits", "lost_commits", lambda v: v == 0, "==0"),
    # a run whose load never reached the new source tested nothing after the promotion
    Check("writes_after_promotion", "writes_after_promotion", lambda v: v > 0, ">0"),
    Check("old_source_back", "old_source", lambda o: bool(o["caught_up"]),
          shown=lambda o: f"{o['how']}{'' if o['caught_up'] else ' (not caught up)'}"),
    Check("checksums_match", "tables", lambda t: t["checksum_match"],
          shown=lambda t: ", ".join(t["mismatched_tables"]) or 0),
]
# with --rejoin no the old source neither comes back nor is compared: those checks are not made
# (rather than passed)
WITHOUT_REJOIN = {"old_source_back", "checksums_match"}


def measure(run_dir: Path, ctx: SourceKillContext, read_final: ReadFinal,
            live: dict[str, Any]) -> tuple[dict[str, Any], list[Check]]:
    """Measurements and checks from the history (inserts read back on the new source), the
    timeline, roles.jsonl and what was measured live (tables, the promotion, the rejoin)."""
    kill_t, writable_t = ctx.fault_t, ctx.writable_t
    roles = _role_timeline(run_dir, ctx.old_source, kill_t)

    def history(_: dict[str, Any]) -> dict[str, Any]:
        after = WindowCounter("insert", writable_t if writable_t is not None else float("inf"), float("inf"))
        first = FirstAck("insert", kill_t, ctx.new_source_address)
        after_fallback = AckedBy(ctx.old_source_address, roles["last_on_t"], f="insert") \
            if roles["last_on_t"] is not None else None
        extra: tuple[Any, ...] = (after, first) + ((after_fallback,) if after_fallback else ())
        analysis = analyze_history(run_dir / "history.jsonl", read_final, lambda op: "chaos.items",
                                   [tuple(p) for p in ctx.phases], write_f="insert", extra=extra)
        lost_keys = analysis.writes.pop("lost_keys")
        (run_dir / "lost-commits.txt").write_text("".join(f"{k}\n" for k in lost_keys))
        lost = set(lost_keys)
        return {
            "lost_commits": analysis.writes["lost"],
            "lost_commit_ids": sorted(lost_keys, key=int)[:100],
            "lost_commits_after_fallback": sum(1 for _, k in after_fallback.acked if k in lost)
            if after_fallback else None,
            "unacked_applied_commits": analysis.writes["unacked_applied"],
            "writes_after_promotion": after.count,
            "write_unavailable_seconds": round(first.at - kill_t, 6) if first.at is not None else None,
            "ops": analysis.ops, "latency_ms": analysis.latency, "inserts": analysis.writes,
            "availability": analysis.availability,
        }

    def lag(_: dict[str, Any]) -> dict[str, Any]:
        summary = lag_summary((s for s in read_timeline(run_dir / "timeline.jsonl") if s.get("time", 0) < kill_t),
                              kill_t, None, None)
        return {"max_lag_seconds": summary["max_lag_seconds"],
                "max_applier_lag_seconds": summary["max_applier_lag_seconds"]}

    def semi(_: dict[str, Any]) -> dict[str, Any]:
        if ctx.semi_sync == "off":
            return {"semi_sync_fallback": None}
        t = roles["fallback_t"]
        return {"semi_sync_fallback": t is not None,
                "semi_sync_fallback_after_seconds": round(t - ctx.link_t, 6) if t is not None and ctx.link_t else None,
                "semi_sync_fallback_t": t, "semi_sync_fallback_window": [roles["last_on_t"], t] if t is not None else None,
                "semi_sync_no_ack_commits": roles["no_ack_commits"],
                "semi_sync_fallback_log": live.get("semi_sync_fallback_log") or []}

    def servers(_: dict[str, Any]) -> dict[str, Any]:
        rejoin = ctx.rejoined or {}
        tables = live.get("tables")
        errant = rejoin.get("errant") or {}
        return {
            "promotion_seconds": (ctx.promoted or {}).get("seconds"),
            "promotion": ctx.promoted,
            "errant_transactions": errant.get("count"),
            "errant": errant,
            "old_source": {"how": rejoin.get("how"), "why": rejoin.get("why"), "caught_up": rejoin.get("caught_up"),
                           "rebuild": rejoin.get("rebuild")},
            "rejoin_seconds": round(rejoin["caught_up_t"] - ctx.restart_t, 6)
            if rejoin.get("caught_up_t") is not None and ctx.restart_t is not None else None,
            "tables": tables, "checksum_match": tables["checksum_match"] if tables else None,
            "findings": live.get("findings", []),
        }

    clients = clients_part(run_dir, read_final, lambda op: "victim", kill_t, slots_name="the table",
                           any_name="any table", write_f="insert", promoted_t=writable_t)
    m = measure_parts([("history", history), ("lag", lag), ("semi_sync", semi), ("servers", servers),
                       ("clients", clients)])
    m.update(mode=ctx.mode, semi_sync=ctx.semi_sync, promote=ctx.promote, rejoin=ctx.rejoin,
             heartbeats=live.get("heartbeats"), probe_samples=live.get("probe_samples"))
    return m, with_client_checks(run_dir, [c for c in CHECKS if ctx.rejoin != "no" or c.name not in WITHOUT_REJOIN])


class FirstAck:
    """The completion time of the first acknowledged ``f`` operation that ``node`` answered at or
    after ``since``."""

    def __init__(self, f: str, since: float, node: str):
        self.f, self.since, self.node = f, since, node
        self.at: float | None = None

    def feed(self, invoke: Any, completion: Any) -> None:
        if completion is not None and completion.type == "ok" and invoke.f == self.f and completion.time >= self.since \
                and completion.node == self.node \
                and (self.at is None or completion.time < self.at):
            self.at = completion.time


PLAN = Plan(NAME, SUMMARY, PLAN_STEPS, measure, KNOWN, HEADLINE, state=SourceKillState,
            context_of=SourceKillContext.of)


command = scenario_command(PLAN, SourceKillConfig, help=f"""{SUMMARY}.

Starts a MariaDB (or with --backend docker --server mysql:9.7 an Oracle MySQL) source and
replica unless a pair is up (`chaos up mysql-replication`), drives inserts, updates and reads
into the source's address, kills the source, promotes the replica the way an operator does,
moves the load to it, starts the old source again read-only, lists the transactions it holds
that the new source never had (errant transactions), and rejoins it as a replica when it holds
none, or rebuilds it from the new source. Every acknowledged insert is read back on the new
source: one that is missing is a lost commit, and the run fails.

\b
Semi-sync (--semi-sync after-sync) promises that no acknowledged commit is lost, until the
replica stays silent for --semi-sync-timeout-ms and the source falls back to async: --mode
partition cuts the replication connection past that timeout, then kills the source, and the
commits acknowledged after the fallback are lost.

\b
Examples:
  chaos run source-kill --rate 0 --promote immediate          # async: what do we lose?
  chaos run source-kill --semi-sync after-sync --semi-sync-timeout-ms 60000
  chaos run source-kill --semi-sync after-sync --semi-sync-timeout-ms 2000 --mode partition
  chaos run source-kill --backend docker --server mysql:9.7 --semi-sync after-sync --rejoin rebuild
  chaos run source-kill --repeat 5 --label async ; chaos report compare runs/...

After the run the roles stay swapped on a pair that `chaos up` started: `chaos status` names the
source now.

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
