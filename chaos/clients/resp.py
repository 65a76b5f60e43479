"""A lean RESP2 client for Redis and Redis Cluster.

Why not redis-py on the hot path: it costs >100 µs of CPU per command here, most of it in
generic machinery; this client does one ``sendall`` and a buffered read per command. It has no
hidden retries: every call is one attempt and its outcome is classified for the history:

* :class:`NotSent` — the request certainly did not reach the server (connect refused/failed):
  the operation did not happen (``fail``).
* :class:`ReplyError` — the server answered with an error (``CLUSTERDOWN``, ``MOVED``,
  ``READONLY``, ...): it did not apply the command (``fail``).
* :class:`Indeterminate` — sent, but no answer (timeout, reset): it may have happened (``info``).

Works with plain sockets and under gevent's monkey-patching alike.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from typing import Any

from redis.crc import key_slot

SLOTS = 16384


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


def encode(args: tuple[Any, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Connection:
    """One TCP connection to one node, opened lazily, dropped on any transport error."""

    def __init__(self, host: str, port: int, timeout: float = 1.0, connect_timeout: float = 0.5):
        self.host, self.port = host, port
        self.address = f"{host}:{port}"
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self._sock: socket.socket | None = None
        self._file: Any = None

    def connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise NotSent(f"connect {self.address}: {exc.strerror or exc}", self.address) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        self._sock, self._file = sock, sock.makefile("rb")

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._file.close()
                self._sock.close()
            except OSError:
                pass
        self._sock = self._file = None

    def call(self, *args: Any) -> Any:
        """Send one command and return its reply (bytes, int, list, None)."""
        if self._sock is None:
            self.connect()
        try:
            # send() in a loop rather than sendall(): gevent's sendall asks the kernel for
            # SO_SNDBUF on every call, a syscall that cost ~15% of the load process's CPU
            data = encode(args)
            sent = self._sock.send(data)  # type: ignore[union-attr]
            while sent < len(data):
                sent += self._sock.send(data[sent:])  # type: ignore[union-attr]
        except OSError as exc:
            self.close()
            # a send on a connection the peer already closed: the server never read it
            raise NotSent(f"send to {self.address}: {exc.strerror or exc}", self.address) from None
        try:
            reply = self._read()
        except (OSError, ConnectionError) as exc:
            self.close()
            what = "timeout" if isinstance(exc, TimeoutError | socket.timeout) else (exc.strerror or str(exc))
            raise Indeterminate(f"{what} waiting for {self.address}", self.address) from None
        if isinstance(reply, ReplyError):
            reply.node = self.address
            raise reply
        return reply

    def _read(self) -> Any:
        line = self._file.readline()
        if not line:
            raise ConnectionError(0, "connection closed by server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._file.read(size + 2)
            if len(data) < size + 2:
                raise ConnectionError(0, "connection closed by server")
            return data[:-2]
        if kind == b"*":
            size = int(rest)
            if size < 0:
                return None
            return [self._read() for _ in range(size)]
        if kind == b"-":
            return ReplyError(rest.decode(errors="replace"))
        raise ConnectionError(0, f"protocol error: {line[:40]!r}")


def parse_cluster_slots(reply: list[Any]) -> list[tuple[int, int, str]]:
    """``CLUSTER SLOTS`` reply → [(first, last, "host:port" of the master)]."""
    out = []
    for entry in reply:
        lo, hi, master = entry[0], entry[1], entry[2]
        out.append((int(lo), int(hi), f"{master[0].decode()}:{int(master[1])}"))
    return out


class ClusterClient:
    """Routes each key to the master that owns its slot, per a slot map it refreshes on demand.

    No retries and no automatic redirects: a ``MOVED`` is a failed attempt; the caller decides
    whether to :meth:`refresh` and try again."""

    def __init__(self, seeds: list[str], timeout: float = 1.0, connect_timeout: float = 0.5):
        self.seeds = list(seeds)
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.slot_owner: list[str | None] = [None] * SLOTS
        self._conns: dict[str, Connection] = {}

    def conn(self, address: str) -> Connection:
        c = self._conns.get(address)
        if c is None:
            host, _, port = address.rpartition(":")
            c = self._conns[address] = Connection(host, int(port), self.timeout, self.connect_timeout)
        return c

    def refresh(self) -> bool:
        """Reload the slot map from the first node that answers; False if none did."""
        known = [a for a in dict.fromkeys([*self._conns, *self.seeds])]
        for address in known:
            try:
                slots = parse_cluster_slots(self.conn(address).call("CLUSTER", "SLOTS"))
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
        return owner  # type: ignore[return-value]

    def call_slot(self, slot: int, *args: Any) -> tuple[str, Any]:
        """Run a command on the owner of ``slot``; returns (node address, reply)."""
        node = self.node_for_slot(slot)
        return node, self.conn(node).call(*args)

    def read_keys(self, keys: Iterable[str], batch: int = 500, attempts: int = 50,
                  pause: float = 0.1) -> dict[str, str | None]:
        """Final read: key → value (None when absent), with MGET batches per slot. Retries
        (with a slot-map refresh) until every batch was answered; raises :class:`RespError`
        if the cluster never answers, since a verdict needs a complete read."""
        by_slot: dict[int, list[str]] = {}
        for key in keys:
            by_slot.setdefault(key_slot(key.encode()), []).append(key)
        out: dict[str, str | None] = {}
        for slot, slot_keys in by_slot.items():
            for i in range(0, len(slot_keys), batch):
                chunk = slot_keys[i : i + batch]
                for attempt in range(attempts):
                    try:
                        _, values = self.call_slot(slot, "MGET", *chunk)
                        break
                    except RespError:
                        if attempt == attempts - 1:
                            raise
                        self.refresh()
                        time.sleep(pause)
                for key, value in zip(chunk, values):
                    out[key] = value.decode() if value is not None else None
        return out

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
