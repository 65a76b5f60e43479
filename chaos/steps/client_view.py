"""The client view in a plan (Redis or MySQL): start the named client libraries beside the
recorder, stop them with it, and measure each one's history the way the recorder's is measured
(lost writes, increments, availability of the data the fault hits and of all of it), plus what
only a library's history shows (calls that blocked, errors that reached the application,
workers that recovered), and on Redis what their refreshes cost the nodes (the nodes the run
began with; nodes a scale-out adds are not sampled).

The clients' records (library, exact version, exit code) are kept in ``clients/clients.json``, so
`chaos analyze` measures the same files again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.appclients import ClientFleet, install, parse_clients
from chaos.checkers import run as run_checkers
from chaos.checkers.availability import AvailabilityChecker
from chaos.checkers.client_view import ClientViewChecker
from chaos.checkers.compose import Check
from chaos.checkers.writes import CounterChecker, WriteSetChecker
from chaos.errors import ChaosError
from chaos.history import merge_histories, read_history, records
from chaos.observe.redis_stats import STATS_FILE, ServerStatsSampler, rates

CLIENTS_RECORD = "clients/clients.json"


def install_clients(ctx: Any, family: str = "redis") -> None:
    """Install what ``--clients`` names that the cache lacks (one-line errors, exit 2)."""
    for spec in parse_clients(getattr(ctx.config, "clients", None), family):
        install(spec, ctx.say)


def start_clients(ctx: Any, target: dict[str, Any], password: tuple[str, str | None],
                  family: str = "redis") -> ClientFleet | None:
    """The clients of ``--clients`` (None without it), stopped by the run's cleanup too.
    ``target``: what they connect to; ``password``: (variable, value) they read it from."""
    specs = parse_clients(getattr(ctx.config, "clients", None), family)
    if not specs:
        return None
    run = ctx.run
    env = {**ctx.state_dir.owner_env(), **({password[0]: password[1]} if password[1] else {})}
    fleet = ClientFleet.start(specs, run.dir, run.run_id, run.t0, run.wall0, target, ctx.config.client_rate,
                              ctx.config.client_workers, env, ctx.say, ctx.config.client_profile)
    ctx.cleanup(stop_clients, ctx, fleet)
    if "seeds" in target:  # what the libraries' topology refreshes and reconnects cost the nodes
        fleet.sampler = ServerStatsSampler(target["seeds"], run.dir / STATS_FILE, run.t0)
        fleet.sampler.start()
    return fleet


def stop_clients(ctx: Any, fleet: ClientFleet | None) -> None:
    """Stop them (calls still blocked stay open in their histories) and record what ran."""
    if fleet is None or not fleet.clients:
        return
    fleet.stop()
    if fleet.sampler is not None:
        fleet.sampler.stop()
    for c in fleet.clients:
        if c.died_early:
            ctx.say(f"warning: the {c.spec.label} client crashed during the run (exit code {c.exit_code}): "
                    f"{c.record()['stderr'] or 'nothing on its stderr'}")
    record = ctx.run.dir / CLIENTS_RECORD
    record.write_text(json.dumps({"clients": fleet.records(), "rate": ctx.config.client_rate,
                                  "workers": ctx.config.client_workers}, indent=1) + "\n")
    fleet.clients = []  # stopped once


def client_history(run_dir: Path, name: str) -> Path:
    """A client's history, compressed once (``client-X.jsonl`` → ``client-X.jsonl.zst``)."""
    plain = run_dir / name
    packed = plain.with_name(plain.name + ".zst")
    if plain.exists() and not packed.exists():
        merge_histories([plain], packed)  # one shard: renumbered, compressed
        plain.unlink()
    if not packed.exists():
        raise ChaosError(f"{packed.name} is missing from {run_dir}")
    return packed


def slot_group(slots: list[Any]) -> Callable[[Any], str]:
    """An operation's group by its key's slot: "victim" in the [lo, hi] ``slots``, else "others"."""
    names = ["others"] * 16384
    for lo, hi in slots:
        names[lo : hi + 1] = ["victim"] * (hi - lo + 1)
    return lambda op: names[key_slot((op.key or "").encode())]


def clients_part(run_dir: Path, read_final: Any, group: Callable[[Any], str], since_t: float | None,
                 recorder_gap: str | None = "write_unavailable_seconds", slots_name: str = "the victim's slots",
                 since_name: str = "the fault", write_f: str = "write",
                 promoted_t: float | None = None,
                 any_name: str = "any slot", until_t: float | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Per client: the recorder's measurements over its history, and the client view's own.
    ``group``: "victim" for the writes the fault hits (the victim's slots, the slots a scale run
    moves, a MySQL table), else "others"; ``since_t``: the fault (or the migration's start);
    recovery counts from the promotion when the measurements so far found one (``_promotion``);
    ``recorder_gap``: the recorder's own measurement of the same gap (None: it has none);
    ``write_f``: the writes; ``promoted_t``: when the replica took over, when the plan knows it;
    ``until_t``: the fault's end (its heal, the migration's end), for the servers' side."""

    def part(m: dict[str, Any]) -> dict[str, Any]:
        record_file = run_dir / CLIENTS_RECORD
        if not record_file.exists():
            return {}
        record = json.loads(record_file.read_text())
        promotion = m.get("_promotion")
        promoted = promoted_t if promoted_t is not None else (promotion["time"] if promotion else None)
        recorder = m.get(recorder_gap) if recorder_gap else None
        out = []
        for c in record["clients"]:
            history = client_history(run_dir, c["history"])
            writes, counters = WriteSetChecker(read_final, write_f), CounterChecker()
            hit = AvailabilityChecker(group, fs=(write_f,))
            anywhere = AvailabilityChecker(lambda op: "all", fs=(write_f,))
            view = ClientViewChecker(since_t, promoted)
            before = Before(since_t, AvailabilityChecker(group, fs=(write_f,)))
            run_checkers(read_history(history), writes, counters, hit, anywhere, view, before)
            w = writes.result()
            w.pop("lost_keys")
            counter_keys = sorted(counters.counters)
            final = dict(zip(counter_keys, read_final(counter_keys))) if counter_keys else {}
            n = counters.result(final)
            avail = hit.result()
            gap = avail.get("victim", {}).get("longest_unavailable_seconds")
            out.append({
                **{k: c[k] for k in ("client", "label", "version", "model", "exit_code", "died_early")},
                **{k: c.get(k) for k in ("profile", "settings", "settings_source")},
                "write_unavailable_seconds": gap,
                "excess_over_recorder_seconds": round(gap - recorder, 6)
                if gap is not None and recorder is not None else None,
                # the same gap before the fault: what the client's pace alone leaves between two writes
                "write_gap_before_fault_seconds": before.checker.result().get("victim", {}).get(
                    "longest_unavailable_seconds"),
                "write_unavailable_seconds_other_slots": avail.get("others", {}).get("longest_unavailable_seconds"),
                "write_unavailable_seconds_any_slot": anywhere.result().get("all", {}).get(
                    "longest_unavailable_seconds"),
                "lost_writes": w["lost"], "unacked_applied_writes": w["unacked_applied"],
                "lost_increments": n["lost_increments"], "unacked_applied_increments": n["unacked_applied_increments"],
                "writes": {k: w[k] for k in ("attempted", "acknowledged", "indeterminate", "lost", "recovered",
                                             "lost_sample")},
                **view.result(),
                "stderr": c.get("stderr"),
            })
        server_side = None
        stats = run_dir / STATS_FILE
        if stats.exists() and since_t is not None:
            samples = list(records(stats))
            end = max((x["time"] for x in samples), default=since_t)
            until = until_t if until_t is not None and until_t > since_t else end
            server_side = rates(samples, {"before": (min((x["time"] for x in samples), default=0.0), since_t),
                                          "during": (since_t, until), "after": (until, end)})
        return {"clients": out, "clients_server_side": server_side,
                "clients_context": {"slots": slots_name, "any": any_name,
                                    "recovery_from": "the promotion" if promoted is not None else since_name},
                "clients_lost_writes": sum(c["lost_writes"] + c["lost_increments"] for c in out),
                "clients_ran": all(not c["died_early"] and c["calls"] > 0 for c in out)}
    return part


class Before:
    """Feeds ``checker`` only the operations that completed before ``t`` (None: none)."""

    def __init__(self, t: float | None, checker: AvailabilityChecker):
        self.t, self.checker = t, checker

    def feed(self, invoke: Any, completion: Any) -> None:
        if self.t is not None and completion is not None and completion.time < self.t:
            self.checker.feed(invoke, completion)


CLIENT_CHECKS = [
    Check("no_lost_writes_clients", "clients_lost_writes", lambda v: v == 0, "==0"),
    Check("clients_ran", "clients_ran", lambda v: v is True),
]


def with_client_checks(run_dir: Path, checks: list[Check]) -> list[Check]:
    """The plan's checks, and the client view's when the run had clients."""
    return checks + CLIENT_CHECKS if (run_dir / CLIENTS_RECORD).exists() else checks
