"""A lean RESP2 client for Redis and Redis Cluster.

Why not redis-py on the hot path: it costs >100 µs of CPU per command here, most of it in
generic machinery; this client does one ``send`` and hiredis-parsed reads per command. It has no
hidden retries (redirects are followed within the attempt, see :class:`ClusterClient`): every
call is one attempt and its outcome is classified for the history:

* :class:`NotSent` — the request certainly did not reach the server (connect refused/failed):
  the operation did not happen (``fail``).
* :class:`ReplyError` — the server answered with an error (``CLUSTERDOWN``, ``MOVED``,
  ``READONLY``, ...): it did not apply the command (``fail``).
* :class:`Indeterminate` — sent, but no answer (timeout, reset): it may have happened (``info``).

Works with plain sockets and under gevent's monkey-patching alike.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from typing import Any

import hiredis
from hiredis import pack_command
from redis.crc import key_slot

SLOTS = 16384
# The password of a cluster that needs one (``--password-env``): every connection of the harness
# and of its load processes reads it from this environment variable, never from an argument.
PASSWORD_ENV = "CHAOS_REDIS_PASSWORD"


def cluster_password() -> str | None:
    return os.environ.get(PASSWORD_ENV) or None


class RespError(Exception):
    """Base class; ``node`` is the address that was asked."""

    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


class NotSent(RespError):
    pass


class Indeterminate(RespError):
    pass


class ReplyError(RespError):
    @property
    def code(self) -> str:
        return str(self).split(" ", 1)[0]


class _ReplyErrorReply(Exception):
    """What hiredis builds for an error reply; turned into :class:`ReplyError` with the node."""


class Connection:
    """One TCP connection to one node, opened lazily, dropped on any transport error.

    Replies are parsed by hiredis's ``Reader`` (a C parser made for partial reads) fed from
    ``recv``: a reply cut short by a closed connection is simply incomplete, never a parse
    error, and the attempt is classified :class:`Indeterminate`."""

    def __init__(self, host: str, port: int, timeout: float = 1.0, connect_timeout: float = 0.5):
        self.host, self.port = host, port
        self.address = f"{host}:{port}"
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self.password = cluster_password()

    def connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise NotSent(f"connect {self.address}: {exc.strerror or exc}", self.address) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        self._sock = sock
        self._reader = hiredis.Reader(replyError=_ReplyErrorReply)
        if self.password:
            try:
                self.call("AUTH", self.password)
            except ReplyError as exc:
                if "without any password configured" not in str(exc):  # a server that needs none is fine
                    self.close()
                    raise NotSent(f"AUTH at {self.address}: {exc}", self.address) from None
            except RespError as exc:  # no answer: the command that follows was never sent
                self.close()
                raise NotSent(f"AUTH at {self.address}: {exc}", self.address) from None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = self._reader = None

    def call(self, *args: Any) -> Any:
        """Send one command and return its reply (bytes, int, list, None); raise its error.
        The load loop's hot path: one ``send``, hiredis-packed, and one parsed reply."""
        self._send(pack_command(args))
        reply = self._receive()
        if type(reply) is _ReplyErrorReply:
            raise ReplyError(str(reply), self.address)
        return self._error(reply) if type(reply) is list else reply

    def call_many(self, commands: list[tuple[Any, ...]], nested: bool = True) -> list[Any]:
        """Send several commands in one write and return their replies in order; an error reply
        comes back as a :class:`ReplyError` object (not raised), a transport problem raises.
        ``nested=False``: only whole replies can be errors (``MGET``'s values cannot), so array
        replies are returned as parsed."""
        self._send(b"".join([pack_command(args) for args in commands]))
        receive = self._receive
        if not nested:
            return [ReplyError(str(r), self.address) if type(r) is _ReplyErrorReply else r
                    for r in [receive() for _ in commands]]
        return [self._error(receive()) for _ in commands]

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            self.connect()
        sock = self._sock
        try:
            # send() in a loop rather than sendall(): gevent's sendall asks the kernel for
            # SO_SNDBUF on every call, a syscall that cost ~15% of the load process's CPU
            sent = sock.send(data)  # type: ignore[union-attr]
            while sent < len(data):
                sent += sock.send(data[sent:])  # type: ignore[union-attr]
        except OSError as exc:
            self.close()
            # a send on a connection the peer already closed: the server never read it
            raise NotSent(f"send to {self.address}: {exc.strerror or exc}", self.address) from None

    def _receive(self) -> Any:
        try:
            return self._read()
        except Exception as exc:  # timeout, reset, closed mid-reply, protocol error: maybe applied
            self.close()
            what = "timeout" if isinstance(exc, TimeoutError | socket.timeout) else \
                (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
            raise Indeterminate(f"{what} waiting for {self.address}", self.address) from None

    def _error(self, reply: Any) -> Any:
        if isinstance(reply, _ReplyErrorReply):
            return ReplyError(str(reply), self.address)
        if isinstance(reply, list):
            return [self._error(r) for r in reply]
        return reply

    def _read(self) -> Any:
        reader = self._reader
        reply = reader.gets()
        while reply is False:
            chunk = self._sock.recv(65536)  # type: ignore[union-attr]
            if not chunk:
                raise ConnectionError(0, "connection closed by server")
            reader.feed(chunk)
            reply = reader.gets()
        return reply


def parse_cluster_slots(reply: list[Any], asked: str | None = None) -> list[tuple[int, int, str]]:
    """``CLUSTER SLOTS`` reply → [(first, last, "host:port" of the master)]. A node alone in its
    cluster does not know its own address and says ""; that is the node ``asked``."""
    out = []
    for entry in reply:
        lo, hi, master = entry[0], entry[1], entry[2]
        host = master[0].decode() if master[0] else ""
        if not host and asked:
            host = asked.rpartition(":")[0]
        out.append((int(lo), int(hi), f"{host}:{int(master[1])}"))
    return out


class Redirects:
    """Process-wide counts of the redirects clients followed or met (read and reset by the load
    process once a second): ``MOVED`` (slot map updated, command sent to the new owner), ``ASK``
    (``ASKING`` + the command sent to the importing node, slot map unchanged) and ``TRYAGAIN``
    (a multi-key command over a half-moved slot: a failed attempt)."""

    moved = 0
    ask = 0
    tryagain = 0

    @classmethod
    def take(cls) -> dict[str, int]:
        out = {"moved": cls.moved, "ask": cls.ask, "tryagain": cls.tryagain}
        cls.moved = cls.ask = cls.tryagain = 0
        return out


def redirect_target(error: ReplyError) -> str:
    """``MOVED 3999 127.0.0.12:7002`` / ``ASK ...`` → ``127.0.0.12:7002``."""
    return str(error).split()[-1]


class ClusterClient:
    """Routes each key to the master that owns its slot, per a slot map it refreshes on demand.

    One call is one attempt, as the history records it. Within an attempt the client follows
    redirects as Redis Cluster clients do (at most ``max_redirects``): ``MOVED`` updates the slot
    and goes to the new owner, ``ASK`` sends ``ASKING`` and the command to the importing node.
    A redirect means the node that sent it did not run the command, so the attempt's outcome is
    that of the node that finally answered (its address is what the call returns). ``TRYAGAIN``,
    ``CLUSTERDOWN`` and every other error are failed attempts; the caller decides whether to
    :meth:`refresh` and try again."""

    def __init__(self, seeds: list[str], timeout: float = 1.0, connect_timeout: float = 0.5,
                 max_redirects: int = 3):
        self.seeds = list(seeds)
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.max_redirects = max_redirects
        self.slot_owner: list[str | None] = [None] * SLOTS
        self._conns: dict[str, Connection] = {}
        self._next_seed = 0

    def conn(self, address: str) -> Connection:
        c = self._conns.get(address)
        if c is None:
            host, _, port = address.rpartition(":")
            c = self._conns[address] = Connection(host, int(port), self.timeout, self.connect_timeout)
        return c

    def refresh(self) -> bool:
        """Reload the slot map from the first node that answers, starting each time at the next
        known node (so a node with a stale view, e.g. a partitioned master, is not asked again
        and again); False if none answered."""
        known = list(dict.fromkeys([*self.seeds, *self._conns]))
        start = self._next_seed % len(known) if known else 0
        self._next_seed += 1
        for address in known[start:] + known[:start]:
            try:
                slots = parse_cluster_slots(self.conn(address).call("CLUSTER", "SLOTS"), address)
            except RespError:
                continue
            if not slots:
                continue
            for lo, hi, owner in slots:
                self.slot_owner[lo : hi + 1] = [owner] * (hi - lo + 1)
                if owner not in self.seeds:
                    self.seeds.append(owner)
            return True
        return False

    def node_for_slot(self, slot: int) -> str:
        owner = self.slot_owner[slot]
        if owner is None:
            if not self.refresh() or self.slot_owner[slot] is None:
                raise NotSent(f"no known owner for slot {slot}")
            owner = self.slot_owner[slot]
            assert owner is not None  # refresh() just found it
        return owner

    def call_slot(self, slot: int, *args: Any) -> tuple[str, Any]:
        """Run a command on the owner of ``slot``, following redirects; returns (node address
        that answered, reply)."""
        node = self.node_for_slot(slot)
        asking = False
        for hop in range(self.max_redirects + 1):
            conn = self.conn(node)
            try:
                if asking:
                    reply = conn.call_many([("ASKING",), args])[1]
                    if isinstance(reply, ReplyError):
                        raise reply
                else:
                    reply = conn.call(*args)
                return node, reply
            except ReplyError as exc:
                code = exc.code
                if code == "TRYAGAIN":
                    Redirects.tryagain += 1
                if code not in ("MOVED", "ASK") or hop == self.max_redirects:
                    raise
                node = redirect_target(exc)
                if code == "MOVED":
                    Redirects.moved += 1
                    self.slot_owner[slot] = node
                    if node not in self.seeds:
                        self.seeds.append(node)
                    asking = False
                else:
                    Redirects.ask += 1
                    asking = True
        raise AssertionError("unreachable")  # pragma: no cover

    def read_keys(self, keys: Iterable[str], attempts: int = 50, pause: float = 0.1) -> dict[str, str | None]:
        """Final read: key → value (None when absent); see :meth:`read_batch`."""
        keys = list(keys)
        return dict(zip(keys, self.read_batch(keys, attempts, pause)))

    def read_batch(self, keys: list[str], attempts: int = 50, pause: float = 0.1,
                   per_mget: int = 500) -> list[str | None]:
        """Final read: the values of ``keys`` in order (None when absent). Keys are grouped by
        slot (one ``MGET`` per slot, at most ``per_mget`` keys) and the MGETs bound for one node
        go in one pipelined round trip. A slot whose MGET fails (moved, cluster down, node gone)
        is read again on its own, following redirects, with a slot-map refresh between tries;
        raises :class:`RespError` if the cluster never answers, since a verdict needs a
        complete read."""
        by_slot: dict[int, list[int]] = {}
        for i, key in enumerate(keys):
            by_slot.setdefault(key_slot(key.encode()), []).append(i)
        chunks = [(slot, positions[i : i + per_mget]) for slot, positions in by_slot.items()
                  for i in range(0, len(positions), per_mget)]
        out: list[str | None] = [None] * len(keys)

        def keep(positions: list[int], values: list[Any]) -> None:
            for i, value in zip(positions, values):
                out[i] = value.decode() if value is not None else None

        by_node: dict[str | None, list[tuple[int, list[int]]]] = {}
        for chunk in chunks:
            owner = self.slot_owner[chunk[0]]
            by_node.setdefault(owner, []).append(chunk)
        again = by_node.pop(None, [])  # owner unknown: read one by one below
        for node, node_chunks in by_node.items():
            try:
                replies = self.conn(node).call_many([("MGET", *[keys[i] for i in positions])  # type: ignore[arg-type]
                                                     for _, positions in node_chunks], nested=False)
            except RespError:
                again += node_chunks
                continue
            for chunk, reply in zip(node_chunks, replies):
                if isinstance(reply, ReplyError):
                    again.append(chunk)
                else:
                    keep(chunk[1], reply)
        for slot, positions in again:
            for attempt in range(attempts):
                try:
                    _, values = self.call_slot(slot, "MGET", *(keys[i] for i in positions))
                    break
                except RespError:
                    if attempt == attempts - 1:
                        raise
                    self.refresh()
                    time.sleep(pause)
            keep(positions, values)
        return out

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
