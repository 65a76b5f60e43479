"""Moving hash slots between masters, natively (what `redis-cli --cluster reshard` does), and
healing slots a broken reshard left open (what `redis-cli --cluster fix` does).

Per slot: ``CLUSTER SETSLOT s IMPORTING <source>`` on the target, ``MIGRATING <target>`` on the
source, then ``GETKEYSINSLOT`` + ``MIGRATE host port "" 0 timeout KEYS …`` batches until the
slot is empty on the source, then ``SETSLOT s NODE <target>`` on the target, the source and every
other master. Clients meanwhile get ``ASK`` for keys already moved and ``TRYAGAIN`` for multi-key
commands over a half-moved slot. Planning which slots go where is pure (unit-tested)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.clients.resp import Connection, ReplyError, RespError
from chaos.topology.redis_info import SLOTS, ClusterNode, parse_cluster_nodes

Move = tuple[int, str, str]  # slot, source node id, target node id


# -- planning (pure) ------------------------------------------------------------------------
def owners_by_master(nodes: list[ClusterNode]) -> dict[str, list[int]]:
    """Master id → the slots it owns (every master listed, also those with none)."""
    out: dict[str, list[int]] = {n.node_id: [] for n in nodes if n.is_master and "fail" not in n.flags}
    for n in nodes:
        if n.node_id in out:
            for lo, hi in n.slots:
                out[n.node_id].extend(range(lo, hi + 1))
    return out


def plan_rebalance(owners: dict[str, list[int]], slots: int | None = None,
                   targets: list[str] | None = None) -> list[Move]:
    """Moves that even out slots over every master in ``owners`` (``slots`` None), or that give
    ``slots`` slots to ``targets`` taken evenly from the others. Slots leave a master from the
    top of its ranges, as redis-cli does."""
    masters = sorted(owners)
    have = {m: sorted(owners[m]) for m in masters}
    if slots is None:
        base, extra = divmod(SLOTS, len(masters))
        order = sorted(masters, key=lambda m: -len(have[m]))  # the fullest keep the remainder
        want = {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}
    else:
        targets = targets or []
        want = {m: len(have[m]) for m in masters}
        donors = [m for m in masters if m not in targets]
        for i in range(slots):
            want[targets[i % len(targets)]] += 1
        for _ in range(slots):  # take from whoever has most, one at a time
            donor = max(donors, key=lambda m: (want[m], m))
            want[donor] -= 1
    return _moves(have, want)


def plan_drain(owners: dict[str, list[int]], leaving: str) -> list[Move]:
    """Moves that empty ``leaving`` into the others, evening them out."""
    stay = sorted(m for m in owners if m != leaving)
    have = {m: sorted(owners[m]) for m in owners}
    total = sum(len(v) for v in have.values())
    base, extra = divmod(total, len(stay))
    order = sorted(stay, key=lambda m: -len(have[m]))
    want = {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}
    want[leaving] = 0
    return _moves(have, want)


def _moves(have: dict[str, list[int]], want: dict[str, int]) -> list[Move]:
    surplus = [(m, have[m][want[m]:]) for m in sorted(have) if len(have[m]) > want[m]]
    pool = [(slot, m) for m, slots in surplus for slot in reversed(slots)]
    moves: list[Move] = []
    for target in sorted(have):
        need = want[target] - len(have[target])
        for _ in range(max(0, need)):
            slot, source = pool.pop(0)
            moves.append((slot, source, target))
    return sorted(moves)


# -- the mover ---------------------------------------------------------------------------------
@dataclass
class SlotMoved:
    slot: int
    source: str
    target: str
    keys: int
    bytes: int
    seconds: float
    started: float  # time.monotonic() when the slot was opened


def node_connection(conns: dict[str, Connection], addresses: dict[str, str], node_id: str,
                    timeout_ms: int) -> Connection:
    """The connection to ``node_id`` kept in ``conns`` (made on first use), with a socket
    timeout a little longer than its commands' own."""
    c = conns.get(node_id)
    if c is None:
        host, _, port = addresses[node_id].rpartition(":")
        c = conns[node_id] = Connection(host, int(port), timeout=timeout_ms / 1000 + 5)
    return c


@dataclass
class Reshard:
    """Moves slots between the masters at ``addresses`` (node id → host:port)."""

    addresses: dict[str, str]
    batch: int = 100  # keys per MIGRATE
    pipeline: int = 10  # MIGRATE batches in flight per round trip
    timeout_ms: int = 10000
    on_slot: Callable[[SlotMoved], None] | None = None
    open_slot: tuple[int, str, str] | None = None  # the slot being moved right now (for the fix)
    moved: list[SlotMoved] = field(default_factory=list)
    _conns: dict[str, Connection] = field(default_factory=dict)
    _pending: list[tuple[int, str, set[str]]] = field(default_factory=list)

    def conn(self, node_id: str) -> Connection:
        return node_connection(self._conns, self.addresses, node_id, self.timeout_ms)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            for c in self._conns.values():
                c.close()

    def move(self, moves: list[Move], stop: Callable[[], bool] | None = None) -> None:
        for slot, source, target in moves:
            if stop is not None and stop():
                return
            self.move_slot(slot, source, target)

    def move_slot(self, slot: int, source: str, target: str) -> SlotMoved:
        """One slot, in about five round trips: IMPORTING on the target; MIGRATING and the first
        GETKEYSINSLOT on the source; per batch of keys their sizes, the MIGRATEs and the next
        GETKEYSINSLOT in one write; SETSLOT NODE on the target, then the source. The other
        masters are told in batches (:meth:`flush`); gossip would tell them too."""
        started = time.monotonic()
        src, dst = self.conn(source), self.conn(target)
        self.open_slot = (slot, source, target)
        dst.call("CLUSTER", "SETSLOT", slot, "IMPORTING", source)
        opened = src.call_many([("CLUSTER", "SETSLOT", slot, "MIGRATING", target),
                                ("CLUSTER", "GETKEYSINSLOT", slot, self.batch * self.pipeline)])
        for reply in opened:
            if isinstance(reply, ReplyError):
                raise reply
        keys, size = self._drain(src, slot, self.addresses[target], first=opened[1])
        dst.call("CLUSTER", "SETSLOT", slot, "NODE", target)
        _setslot_on_source(src, slot, target)
        self.open_slot = None
        self._pending.append((slot, target, {source, target}))
        if len(self._pending) >= 64:
            self.flush()
        done = SlotMoved(slot, source, target, keys, size, time.monotonic() - started, started)
        self.moved.append(done)
        if self.on_slot is not None:
            self.on_slot(done)
        return done

    def flush(self) -> None:
        """Tell the other masters the new owners of the slots moved since the last flush."""
        pending, self._pending = self._pending, []
        for node_id in self.addresses:
            commands = [("CLUSTER", "SETSLOT", slot, "NODE", owner) for slot, owner, told in pending
                        if node_id not in told]
            if commands:
                try:
                    self.conn(node_id).call_many(commands)  # errors (e.g. a node gone) are gossip's job
                except Exception:
                    pass

    def _drain(self, src: Connection, slot: int, target_address: str, first: Any = None) -> tuple[int, int]:
        """MIGRATE every key of ``slot`` from ``src`` to the target; returns (keys, bytes)."""
        host, _, port = target_address.rpartition(":")
        keys_moved = size = 0
        keys = first if first is not None else src.call("CLUSTER", "GETKEYSINSLOT", slot, self.batch * self.pipeline)
        while keys:
            batches = [keys[i : i + self.batch] for i in range(0, len(keys), self.batch)]
            # sizes (before the keys leave), the MIGRATE batches and the next keys: one round trip
            replies = src.call_many([("MEMORY", "USAGE", k, "SAMPLES", "0") for k in keys]
                                    + [("MIGRATE", host, port, "", 0, self.timeout_ms, "KEYS", *b) for b in batches]
                                    + [("CLUSTER", "GETKEYSINSLOT", slot, self.batch * self.pipeline)])
            usage, migrated, keys = replies[: len(keys)], replies[len(keys) : -1], replies[-1]
            size += sum(u for u in usage if isinstance(u, int))
            for reply, b in zip(migrated, batches):
                if isinstance(reply, ReplyError):
                    if "BUSYKEY" not in str(reply):
                        raise reply
                    # already on the target (a batch retried after a timeout): replace it
                    src.call("MIGRATE", host, port, "", 0, self.timeout_ms, "REPLACE", "KEYS", *b)
                keys_moved += len(b)
            if isinstance(keys, ReplyError):
                raise keys
        return keys_moved, size

    def _assign(self, slot: int, owner: str, first: tuple[str, ...] = ()) -> None:
        """``SETSLOT slot NODE owner`` on ``first`` (the target, then the source), then on every
        other master, so the new owner is known at once rather than by gossip."""
        for node_id in [*first, *(n for n in self.addresses if n not in first)]:
            try:
                self.conn(node_id).call("CLUSTER", "SETSLOT", slot, "NODE", owner)
            except ReplyError as exc:
                if node_id in first and not _gave_away_last_slot(exc):
                    raise


def _gave_away_last_slot(exc: ReplyError) -> bool:
    """A master that gives away its last slot turns itself into a replica of the node that took it
    (FACTS.md), possibly before our SETSLOT reaches it: it already knows where the slot went."""
    return "only with masters" in str(exc)


def _setslot_on_source(src: Connection, slot: int, target: str) -> None:
    try:
        src.call("CLUSTER", "SETSLOT", slot, "NODE", target)
    except ReplyError as exc:
        if not _gave_away_last_slot(exc):
            raise


def fix_open_slots(addresses: dict[str, str], say: Callable[[str], None] = lambda _: None) -> list[str]:
    """Close every slot a broken reshard left importing or migrating: a slot migrating from A to
    B (and importing on B) is finished (remaining keys moved, B owns it); a slot open on one side
    only is made stable again on its owner. Returns what was fixed, one line per slot."""
    views = {}
    for node_id, address in addresses.items():
        host, _, port = address.rpartition(":")
        conn = Connection(host, int(port), timeout=5)
        try:
            me = next(n for n in parse_cluster_nodes(conn.call("CLUSTER", "NODES").decode()) if n.is_myself)
        except RespError:  # gone: nothing of it to fix
            continue
        finally:
            conn.close()
        views[node_id] = me
    fixes = []
    mover = Reshard(dict(addresses))
    try:
        for node_id, me in views.items():
            for slot, target in sorted(me.migrating.items()):
                if target in views and slot in views[target].importing:
                    mover.open_slot = (slot, node_id, target)
                    keys, _ = mover._drain(mover.conn(node_id), slot, addresses[target])
                    mover._assign(slot, target, first=(target, node_id))
                    fixes.append(f"slot {slot}: finished moving it from {addresses[node_id]} to "
                                 f"{addresses[target]} ({keys} keys were left)")
                else:
                    mover.conn(node_id).call("CLUSTER", "SETSLOT", slot, "STABLE")
                    fixes.append(f"slot {slot}: was migrating on {addresses[node_id]} only; made stable")
        for node_id, me in views.items():
            for slot in sorted(me.importing):
                source = me.importing[slot]
                if source in views and slot in views[source].migrating:
                    continue  # fixed above
                conn = mover.conn(node_id)
                if conn.call("CLUSTER", "COUNTKEYSINSLOT", slot) == 0 or slot not in _owned(views[source]):
                    conn.call("CLUSTER", "SETSLOT", slot, "STABLE")
                    fixes.append(f"slot {slot}: was importing on {addresses[node_id]} only; made stable")
                else:  # keys arrived but the source closed its side: give the slot to the importer
                    mover._assign(slot, node_id, first=(node_id,))
                    fixes.append(f"slot {slot}: {addresses[node_id]} held keys of it; it owns it now")
    finally:
        mover.close()
    for line in fixes:
        say(line)
    return fixes


def _owned(node: ClusterNode) -> set[int]:
    return {s for lo, hi in node.slots for s in range(lo, hi + 1)}


def summarize(moved: list[SlotMoved]) -> dict[str, Any]:
    """Migration figures from the slots moved (pure)."""
    from chaos.checkers.latency import percentile

    if not moved:
        return {"slots_moved": 0, "keys_migrated": 0, "bytes_migrated": 0, "migration_seconds": 0.0,
                "keys_per_second": None, "slot_seconds": {"p50": None, "p99": None, "max": None}}
    seconds = sorted(m.seconds for m in moved)
    span = max(m.started + m.seconds for m in moved) - min(m.started for m in moved)
    keys = sum(m.keys for m in moved)
    return {
        "slots_moved": len(moved),
        "keys_migrated": keys,
        "bytes_migrated": sum(m.bytes for m in moved),
        "migration_seconds": round(span, 6),
        "keys_per_second": round(keys / span, 1) if span > 0 else None,
        "slot_seconds": {"p50": round(percentile(seconds, 0.5) or 0.0, 6), "p99": round(percentile(seconds, 0.99) or 0.0, 6),
                         "max": round(seconds[-1], 6)},
    }


# -- atomic slot migration (Valkey >= 9) ---------------------------------------------------------
def slot_ranges(slots: list[int]) -> list[tuple[int, int]]:
    """Sorted slots → their runs: [0, 1, 2, 7] → [(0, 2), (7, 7)] (pure)."""
    runs: list[tuple[int, int]] = []
    for s in sorted(slots):
        if runs and runs[-1][1] + 1 == s:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs


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
