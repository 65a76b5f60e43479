"""Samples every Redis node every few milliseconds into the timeline.

One thread per node, so a dead or paused node never delays the others. A sample is one
pipelined round trip (``CLUSTER INFO``, ``INFO replication``, ``CLUSTER NODES``) reduced to
what verdicts need: is the node up, its role, the master it follows, ``cluster_state``, epochs,
replication link and offset, which node owns each watched slot, and which nodes it flags as
failing. Samples go to ``timeline.jsonl`` (source ``probe``) and to the event bus.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.backends.base import NodeSpec
from chaos.clients.resp import Connection, RespError
from chaos.observe import paced
from chaos.topology.redis_info import parse_cluster_nodes, parse_info

Sample = dict[str, Any]
PROBE_COMMANDS = [("CLUSTER", "INFO"), ("INFO", "replication"), ("CLUSTER", "NODES")]


def reduce_sample(cluster_info: str, replication: str, nodes_text: str,
                  watch_slots: list[int]) -> dict[str, Any]:
    """The three replies of one node → the fields of a timeline sample (pure)."""
    info = parse_info(cluster_info)
    repl = parse_info(replication)
    nodes = parse_cluster_nodes(nodes_text)
    by_id = {n.node_id: n.address for n in nodes}
    owners: dict[str, str | None] = {}
    for slot in watch_slots:
        owners[str(slot)] = next((n.address for n in nodes if n.is_master and not n.failing
                                  and any(lo <= slot <= hi for lo, hi in n.slots)), None)
    me = next((n for n in nodes if n.is_myself), None)
    role = "master" if repl.get("role") == "master" else "replica"
    return {
        "up": True,
        "cluster_state": info.get("cluster_state"),
        "current_epoch": int(info.get("cluster_current_epoch", 0)),
        "my_epoch": int(info.get("cluster_my_epoch", 0)),
        "role": role,
        "master": by_id.get(me.master_id) if me and me.master_id else None,
        "link": repl.get("master_link_status"),
        "offset": int(repl.get("master_repl_offset" if role == "master" else "slave_repl_offset", 0) or 0),
        "owners": owners,
        "failing": sorted(n.address for n in nodes if "fail" in n.flags),
    }


class RedisProbe:
    def __init__(self, specs: list[NodeSpec], timeline: Path, t0: float, wall0: float,
                 watch_slots: list[int], interval: float = 0.01, timeout: float = 0.2,
                 on_sample: Callable[[Sample], None] | None = None):
        self.specs, self.path, self.t0, self.wall0 = specs, timeline, t0, wall0
        self.watch_slots, self.interval, self.timeout = watch_slots, interval, timeout
        self.on_sample = on_sample
        self.latest: dict[str, Sample] = {}
        self.samples = 0
        self.errors = 0  # unexpected errors of the probe itself (not of the nodes), reported at the end
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue[Sample | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._out = open(self.path, "a", buffering=1 << 16)
        writer = threading.Thread(target=self._write, name="timeline-writer", daemon=True)
        writer.start()
        self._threads.append(writer)
        for spec in self.specs:
            t = threading.Thread(target=self._sample_loop, args=(spec,), name=f"probe-{spec.name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        for t in self._threads[1:]:
            t.join(2)
        self._queue.put(None)
        self._threads[0].join(5)
        self._out.close()

    def sample_once(self, spec: NodeSpec, conn: Connection) -> Sample:
        started = time.monotonic()
        sample: Sample = {"source": "probe", "time": round(started - self.t0, 6),
                          "wall": round(self.wall0 + started - self.t0, 6), "node": spec.name,
                          "address": spec.address}
        try:
            replies = conn.call_many(PROBE_COMMANDS)
            if any(isinstance(r, Exception) for r in replies):
                raise RespError(str(next(r for r in replies if isinstance(r, Exception))))
            cluster_info, replication, nodes = (r.decode() for r in replies)
            sample.update(reduce_sample(cluster_info, replication, nodes, self.watch_slots))
        except RespError as exc:  # the node does not answer (or answers an error): a fact, not a bug
            conn.close()
            sample.update({"up": False, "error": str(exc) or type(exc).__name__})
        except Exception as exc:  # a bug of the probe must not end its thread: keep sampling, report it
            conn.close()
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            sample.update({"up": False, "error": f"probe error: {self.last_error}"})
        sample["rtt_ms"] = round((time.monotonic() - started) * 1000, 3)
        return sample

    def _sample_loop(self, spec: NodeSpec) -> None:
        conn = Connection(spec.host, spec.port, timeout=self.timeout, connect_timeout=self.timeout)
        for _ in paced(self.interval, self._stop):
            sample = self.sample_once(spec, conn)
            self.latest[spec.name] = sample
            self._queue.put(sample)
        conn.close()

    def _write(self) -> None:
        while True:
            sample = self._queue.get()
            if sample is None:
                break
            self.samples += 1
            try:
                self._out.write(json.dumps(sample, separators=(",", ":"), default=str) + "\n")
            except Exception as exc:  # keep writing the next samples; report at the end
                self.errors += 1
                self.last_error = f"timeline write: {type(exc).__name__}: {exc}"
            if self.on_sample is not None:
                try:
                    self.on_sample(sample)
                except Exception:
                    pass
