"""What the clients cost the servers: every node's ``INFO commandstats`` (``CLUSTER SLOTS`` and
``CLUSTER SHARDS`` calls: the clients' topology refreshes) and ``INFO stats``
(``total_connections_received``) once a second into ``server-stats.jsonl``, while the client
view runs (``--clients``). :func:`rates` turns the counters into calls and connections per
second in the windows before, during and after the fault (pure)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chaos.clients.resp import Connection, RespError
from chaos.observe import FileSampler, paced

STATS_FILE = "server-stats.jsonl"
COUNTERS = {"cluster_slots": "cmdstat_cluster|slots", "cluster_shards": "cmdstat_cluster|shards",
            "connections": "total_connections_received"}


def parse_counters(info: str) -> dict[str, Any]:
    """``INFO commandstats`` + ``INFO stats`` (+ ``INFO server``) text → the counters of
    :data:`COUNTERS` (0 when a command was never called), and the server's ``run_id`` (a new one
    after a restart, when the counters start from 0 again)."""
    found: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    by_field = {v: k for k, v in COUNTERS.items()}
    for line in info.splitlines():
        field, _, value = line.strip().partition(":")
        if field == "run_id":
            found["run_id"] = value.strip()
            continue
        name = by_field.get(field)
        if name is None:
            continue
        if field.startswith("cmdstat_"):  # calls=12,usec=…
            value = value.split(",", 1)[0].partition("=")[2]
        try:
            found[name] = int(value)
        except ValueError:
            pass
    return found


class ServerStatsSampler(FileSampler):
    def __init__(self, addresses: list[str], path: Path, t0: float, interval: float = 1.0):
        self.addresses, self.path, self.t0, self.interval = addresses, path, t0, interval
        self.conns = {a: Connection(*_split(a), timeout=0.3, connect_timeout=0.3) for a in addresses}
        super().__init__("server-stats")

    def _loop(self) -> None:
        for _ in paced(self.interval, self._stop):
            for address, conn in self.conns.items():
                t = time.monotonic() - self.t0
                try:
                    raw = b"\n".join(conn.call("INFO", section) for section in ("commandstats", "stats", "server"))
                    sample: dict[str, Any] = {"time": round(t, 6), "node": address,
                                              **parse_counters(raw.decode(errors="replace"))}
                except (RespError, OSError):
                    conn.close()
                    sample = {"time": round(t, 6), "node": address, "up": False}
                self._out.write(json.dumps(sample, separators=(",", ":")) + "\n")
        for conn in self.conns.values():
            conn.close()


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def rates(samples: Iterable[dict[str, Any]], windows: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Per window (name → (start, end) run seconds): each counter's increase over every node,
    per second. After a restart (a new ``run_id``, or a counter that went down) a node's
    counters count from 0 again; an increase is put in the window where the later sample of the
    pair falls."""
    last: dict[str, dict[str, Any]] = {}
    totals = {w: dict.fromkeys(COUNTERS, 0) for w in windows}
    for s in sorted(samples, key=lambda s: s["time"]):
        if s.get("up") is False:
            continue
        before = last.get(s["node"])
        last[s["node"]] = s
        if before is None:
            continue
        for w, (lo, hi) in windows.items():
            if lo < s["time"] <= hi:
                restarted = s.get("run_id") != before.get("run_id")
                for k in COUNTERS:
                    grew = s[k] - before[k]
                    totals[w][k] += s[k] if restarted or grew < 0 else grew
    out: dict[str, Any] = {}
    for w, (lo, hi) in windows.items():
        span = hi - lo
        out[w] = {f"{k}_per_second": round(totals[w][k] / span, 2) if span > 0 else None for k in COUNTERS}
        out[w]["seconds"] = round(span, 3)
    return out
