"""Moving hash slots between masters, natively (what `redis-cli --cluster reshard` does), and
healing slots a broken reshard left open (what `redis-cli --cluster fix` does).

Per slot: ``CLUSTER SETSLOT s IMPORTING <source>`` on the target, ``MIGRATING <target>`` on the
source, then ``GETKEYSINSLOT`` + ``MIGRATE host port "" 0 timeout KEYS …`` batches until the
slot is empty on the source, then ``SETSLOT s NODE <target>`` on the target, the source and every
other master. Clients meanwhile get ``ASK`` for keys already moved and ``TRYAGAIN`` for multi-key
commands over a half-moved slot. Which slots go where: :mod:`chaos.topology.reshard_plan`; the
atomic path of Valkey 9 (``CLUSTER MIGRATESLOTS``): :mod:`chaos.topology.reshard_atomic`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.clients.resp import Connection, ReplyError, RespError
from chaos.topology.redis_info import ClusterNode, parse_cluster_nodes
from chaos.topology.reshard_plan import Move


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
