"""Failover verdicts from the probe timeline (pure: samples in, numbers out).

Samples are dicts as written by :mod:`chaos.observe.redis_probe`; times are run seconds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

Sample = dict[str, Any]


def is_promoted(sample: Sample | None, address: str, slot: int | None) -> bool:
    """The node at ``address`` reports itself master and, in its own view, owner of ``slot``."""
    return bool(sample and sample.get("up") and sample.get("role") == "master"
                and sample.get("owners", {}).get(str(slot)) == address)


def is_linked_replica_of(sample: Sample | None, master_address: str | None) -> bool:
    """The node reports itself a replica of ``master_address`` with its replication link up."""
    return bool(sample and sample.get("up") and sample.get("role") == "replica"
                and sample.get("master") == master_address and sample.get("link") == "up")


def is_replica(sample: Sample | None) -> bool:
    """The node answers and reports itself a replica (of anyone): a resumed master demoted itself."""
    return bool(sample and sample.get("up") and sample.get("role") == "replica")


def first(samples: Iterable[Sample], node: str, after: float, condition: Callable[[Sample], bool]) -> float | None:
    """Time of ``node``'s first sample at or after ``after`` that meets ``condition`` (one
    streamed pass: the earliest match, whatever order the samples come in)."""
    found = None
    for s in samples:
        if s.get("node") == node and s.get("source", "probe") == "probe" and s["time"] >= after \
                and (found is None or s["time"] < found) and condition(s):
            found = s["time"]
    return found


def by_node(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        if s.get("source", "probe") == "probe":
            out[s["node"]].append(s)
    for seq in out.values():
        seq.sort(key=lambda s: s["time"])
    return out


def cluster_down(samples: Iterable[Sample]) -> dict[str, Any]:
    """Total time any answering node reported ``cluster_state:fail`` (union over nodes), and the
    intervals. A node's state holds from one of its samples to its next one. One streamed pass:
    a node's samples come in time order (see chaos.engine.Timeline)."""
    intervals = []
    open_since: dict[str, float | None] = {}  # node → time of its last sample, when it said fail
    for s in samples:
        if s.get("source", "probe") != "probe":
            continue
        node, t = s["node"], s["time"]
        since = open_since.get(node)
        if since is not None:
            intervals.append((since, t))
        open_since[node] = t if s.get("up") and s.get("cluster_state") == "fail" else None
    intervals += [(t, t) for t in open_since.values() if t is not None]
    merged: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return {"cluster_down_seconds": round(sum(hi - lo for lo, hi in merged), 6),
            "intervals": [[round(lo, 6), round(hi, 6)] for lo, hi in merged]}


def first_promotion(samples: Iterable[Sample], candidates: dict[str, str], slot: int | None,
                    after: float) -> dict[str, Any] | None:
    """First sample after ``after`` in which a candidate (name → address) reports itself master
    and, in its own view, the owner of ``slot``. Returns {'node', 'address', 'time'} or None.
    One streamed pass."""
    best = None
    for s in samples:
        name = s.get("node")
        if name not in candidates or s.get("source", "probe") != "probe" or s["time"] < after:
            continue
        if (best is None or s["time"] < best["time"]) and is_promoted(s, candidates[name], slot):
            best = {"node": name, "address": candidates[name], "time": s["time"]}
    return best


def first_rejoin(samples: Iterable[Sample], node: str, master_address: str,
                 after: float) -> float | None:
    """First time after ``after`` that ``node`` is a replica of ``master_address`` with its
    replication link up."""
    return first(samples, node, after, lambda s: is_linked_replica_of(s, master_address))


def cluster_ok_again(samples: Iterable[Sample], after: float, skip: set[str]) -> float | None:
    """First time after ``after`` from which every answering node (except ``skip``) last said
    ``cluster_state:ok``."""
    seqs = {n: seq for n, seq in by_node(samples).items() if n not in skip}
    events = sorted((s["time"], n, s.get("up") and s.get("cluster_state") == "ok")
                    for n, seq in seqs.items() for s in seq if s["time"] >= after)
    state: dict[str, bool] = {}
    for t, n, ok in events:
        state[n] = bool(ok)
        if len(state) == len(seqs) and all(state.values()):
            return t
    return None
