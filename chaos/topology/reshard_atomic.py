"""Atomic slot migration (Valkey 9 and later): one ``CLUSTER MIGRATESLOTS`` job per source and
target, progress from ``CLUSTER GETSLOTMIGRATIONS``, no ASK redirects; a cancelled or failed job
must leave no key on a node that does not own its slot (:func:`half_moved`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.clients.resp import Connection, ReplyError, RespError
from chaos.topology.redis_info import parse_cluster_nodes
from chaos.topology.reshard import _owned, node_connection, summarize
from chaos.topology.reshard_plan import Move, slot_ranges


def parse_migrations(reply: list[Any]) -> list[dict[str, Any]]:
    """``CLUSTER GETSLOTMIGRATIONS`` → one dict per job (each entry is a flat field/value list)."""
    out = []
    for entry in reply or []:
        if isinstance(entry, dict):
            out.append({_text(k): _text(v) for k, v in entry.items()})
            continue
        out.append({_text(entry[i]): _text(entry[i + 1]) for i in range(0, len(entry) - 1, 2)})
    return out


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def supports_atomic(info_server: dict[str, str]) -> bool:
    """Valkey 9 or later (``CLUSTER MIGRATESLOTS``); Redis 8.4's ``CLUSTER MIGRATION IMPORT`` is
    not available on this machine's archive, so Redis always takes the legacy path."""
    if info_server.get("server_name") != "valkey":
        return False
    major = (info_server.get("valkey_version") or "0").split(".")[0]
    return major.isdigit() and int(major) >= 9


DONE_STATES = ("success", "failed", "cancelled")


@dataclass
class AtomicJob:
    source: str
    target: str
    ranges: list[tuple[int, int]]
    keys: int  # keys in those slots on the source when the job started
    started: float
    seconds: float = 0.0
    state: str = "started"
    message: str = ""
    name: str | None = None

    @property
    def slots(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)


@dataclass
class AtomicReshard:
    """The second path of the slot mover: per (source, target) pair one ``CLUSTER MIGRATESLOTS
    SLOTSRANGE … NODE target`` sent to the source, which snapshots the slots, streams them and
    hands them over in one step (no ASK, no per-key MIGRATE); progress from ``CLUSTER
    GETSLOTMIGRATIONS``. :meth:`cancel` sends ``CLUSTER CANCELSLOTMIGRATIONS`` (Ctrl-C)."""

    addresses: dict[str, str]
    poll: float = 0.02
    timeout: float = 600.0
    on_progress: Callable[[AtomicJob, dict[str, Any]], None] | None = None
    jobs: list[AtomicJob] = field(default_factory=list)
    _conns: dict[str, Connection] = field(default_factory=dict)

    timeout_ms: int = 10000  # of each command

    def conn(self, node_id: str) -> Connection:
        return node_connection(self._conns, self.addresses, node_id, self.timeout_ms)

    def close(self) -> None:
        for c in self._conns.values():
            c.close()

    def move(self, moves: list[Move], stop: Callable[[], bool] | None = None) -> None:
        pairs: dict[tuple[str, str], list[int]] = {}
        for slot, source, target in moves:
            pairs.setdefault((source, target), []).append(slot)
        for (source, target), slots in pairs.items():
            if stop is not None and stop():
                return
            self.move_job(source, target, slots)

    def move_job(self, source: str, target: str, slots: list[int]) -> AtomicJob:
        src = self.conn(source)
        counts = src.call_many([("CLUSTER", "COUNTKEYSINSLOT", s) for s in slots])
        ranges = slot_ranges(slots)
        job = AtomicJob(source, target, ranges, sum(c for c in counts if isinstance(c, int)), time.monotonic())
        self.jobs.append(job)
        known = {j.get("name") for j in parse_migrations(src.call("CLUSTER", "GETSLOTMIGRATIONS"))}
        src.call("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", *[x for r in ranges for x in r], "NODE", target)
        text = " ".join(f"{lo}-{hi}" for lo, hi in ranges)
        deadline = job.started + self.timeout
        while True:
            entry = self._entry(job, text, known)
            if entry is not None:
                job.name, job.state, job.message = entry.get("name"), entry.get("state", "?"), entry.get("message", "")
                if self.on_progress is not None:
                    self.on_progress(job, entry)
                if job.state in DONE_STATES:
                    break
            if time.monotonic() > deadline:
                job.state, job.message = "timeout", f"not done after {self.timeout:g} s"
                break
            time.sleep(self.poll)
        job.seconds = time.monotonic() - job.started
        if job.state != "success":
            from chaos.errors import TopologyError

            raise TopologyError(f"atomic migration of slots {text} to {self.addresses[target]} ended "
                                f"{job.state}: {job.message or 'no message'}")
        return job

    def _entry(self, job: AtomicJob, text: str, known: set[Any]) -> dict[str, Any] | None:
        """The job's entry: on the source (EXPORT), or on the target (IMPORT) when the source does
        not answer (killed in the middle of the migration)."""
        for node, operation in ((job.source, "EXPORT"), (job.target, "IMPORT")):
            try:
                entries = parse_migrations(self.conn(node).call("CLUSTER", "GETSLOTMIGRATIONS"))
            except RespError:
                continue
            for e in entries:
                if e.get("operation") != operation or e.get("target_node") != job.target:
                    continue
                if (job.name and e.get("name") == job.name) or \
                        (not job.name and e.get("name") not in known and e.get("slot_ranges") == text):
                    return e
            if node == job.source:
                return None  # the source answers: its view is the job's
        return None

    def cancel(self) -> list[str]:
        """CANCELSLOTMIGRATIONS on every source with a job; returns the sources told."""
        told = []
        for source in {j.source for j in self.jobs if j.state not in DONE_STATES}:
            try:
                self.conn(source).call("CLUSTER", "CANCELSLOTMIGRATIONS")
                told.append(self.addresses[source])
            except RespError:
                continue
        return told


def half_moved(addresses: dict[str, str], jobs: list[AtomicJob]) -> list[str]:
    """Slots of ``jobs`` whose keys sit on a master that does not own them (what "nothing left
    half-moved" rules out), asked of every master in ``addresses`` (after a failover the slots'
    owner may be neither the job's source nor its target); one line per slot and node."""
    slots = sorted({s for job in jobs for lo, hi in job.ranges for s in range(lo, hi + 1)})
    problems = []
    for address in addresses.values():
        host, _, port = address.rpartition(":")
        conn = Connection(host, int(port), timeout=5)
        try:  # its own view of what it owns, and its keys per slot, in one round trip
            replies = conn.call_many([("CLUSTER", "NODES"), *(("CLUSTER", "COUNTKEYSINSLOT", s) for s in slots)])
        except RespError:  # gone: nothing of it to check
            continue
        finally:
            conn.close()
        if isinstance(replies[0], ReplyError):
            continue
        owned = _owned(next(n for n in parse_cluster_nodes(replies[0].decode()) if n.is_myself))
        for slot, count in zip(slots, replies[1:]):
            if isinstance(count, int) and count and slot not in owned:
                problems.append(f"slot {slot}: {count} key(s) on {address}, which does not own it")
    return problems


def summarize_jobs(jobs: list[AtomicJob], names: dict[str, str] | None = None) -> dict[str, Any]:
    """Migration figures of atomic jobs, in the legacy summary's terms where they exist (pure);
    ``names`` maps node ids to what the result shows (addresses)."""
    names = names or {}
    out = summarize([])
    if not jobs:
        return {**out, "method": "atomic", "jobs": []}
    span = max(j.started + j.seconds for j in jobs) - min(j.started for j in jobs)
    keys = sum(j.keys for j in jobs if j.state == "success")
    out.update(slots_moved=sum(j.slots for j in jobs if j.state == "success"),
               keys_migrated=keys, bytes_migrated=None,
               migration_seconds=round(span, 6), keys_per_second=round(keys / span, 1) if span > 0 else None,
               method="atomic",
               jobs=[{"source": names.get(j.source, j.source), "target": names.get(j.target, j.target),
                      "slots": j.slots, "keys": j.keys,
                      "seconds": round(j.seconds, 6), "state": j.state, "message": j.message} for j in jobs])
    return out
