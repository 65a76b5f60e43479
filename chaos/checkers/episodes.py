"""A soak run judged episode by episode (pure: the run's episode records, the probe timeline,
the write availability and the lost writes' times in; numbers out).

Each episode is measured with the single-fault scenarios' definitions: the promotion (first
probe sample after the fault in which a replica of the victim reports itself master and owner
of the victim's first slot), the victim's return as a linked replica of the promoted node (or of
its master, when no failover was expected) from the heal, the longest time without an
acknowledged write to the victim's slots from the fault until the next episode, the
acknowledged writes lost whose acknowledgement falls in that window, and the time from the heal
until the cluster was in its steady state again (as the run saw it live)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chaos.checkers.failover import is_linked_replica_of, is_promoted

Sample = dict[str, Any]


class EpisodeTimeline:
    """One streamed pass over the timeline for every episode: when a replica of each master
    victim took over, and when each victim was a linked replica of whom after its heal."""

    def __init__(self, episodes: Sequence[dict[str, Any]]):
        self.episodes = episodes
        self.promoted: dict[int, tuple[float, str]] = {}  # episode → (time, address)
        self.linked: dict[int, dict[str, float]] = {}  # episode → master address → first time linked to it

    def feed(self, s: Sample) -> None:
        if s.get("source", "probe") != "probe" or not s.get("up"):
            return
        t, node = s["time"], s.get("node")
        for e in self.episodes:
            if t < e["injected_t"]:
                continue
            i = e["index"]
            replicas = e.get("replicas") or {}
            if node in replicas and e.get("first_slot") is not None:
                best = self.promoted.get(i)
                if (best is None or t < best[0]) and is_promoted(s, replicas[node], e["first_slot"]):
                    self.promoted[i] = (t, replicas[node])
            heal = e.get("heal_t")
            if node == e["target"] and heal is not None and t >= heal and s.get("master"):
                seen = self.linked.setdefault(i, {})
                master = s["master"]
                if (master not in seen or t < seen[master]) and is_linked_replica_of(s, master):
                    seen[master] = t


def _longest_overlap(windows: Iterable[Sequence[float]], lo: float, hi: float) -> float:
    """The longest part of a window (no acknowledged write) that lies within [lo, hi]."""
    best = 0.0
    for a, b in windows:
        if b > lo and a < hi:
            best = max(best, min(b, hi) - max(a, lo))
    return best


def expects_failover(e: dict[str, Any], node_timeout_ms: int) -> bool:
    """A replica takes over a master killed, or paused or cut off for longer than the node timeout."""
    if e["role"] != "master":
        return False
    return e["kind"] in ("kill", "stale") or (e.get("hold") or 0.0) * 1000.0 > node_timeout_ms


def measure_episodes(episodes: Sequence[dict[str, Any]], timeline: EpisodeTimeline,
                     availability: dict[str, Any], lost_times: Sequence[float], end_t: float,
                     node_timeout_ms: int) -> list[dict[str, Any]]:
    """Per episode (in start order): its figures. ``availability``: the write availability per
    slot group (:class:`AvailabilityChecker` result; an episode names its ``group``);
    ``lost_times``: the acknowledgement time of every lost write; ``end_t``: the end of the load.
    A master that was not expected to fail over (held shorter than the node timeout) need not
    come back as a replica."""
    out = []
    starts = [e["injected_t"] for e in episodes]
    for k, e in enumerate(episodes):
        i, t0 = e["index"], e["injected_t"]
        until = starts[k + 1] if k + 1 < len(starts) else end_t
        promoted = timeline.promoted.get(i)
        failover = expects_failover(e, node_timeout_ms)
        rejoin_to = promoted[1] if promoted else e.get("master_before")
        linked = (timeline.linked.get(i) or {}).get(rejoin_to or "")
        heal = e.get("heal_t")
        group = availability.get(e.get("group") or "", {})
        windows = [w for w in group.get("windows") or [] if w]
        lost = sum(1 for t in lost_times if t0 <= t < until)
        rec = {
            "index": i, "kind": e["kind"], "role": e["role"], "target": e["target"],
            "address": e.get("address"), "overlaps": e.get("overlaps"),
            "injected_t": round(t0, 6), "heal_t": None if heal is None else round(heal, 6),
            # from the kill itself when the episode began with a cut of the replication stream (stale)
            "failover_seconds": round(promoted[0] - e.get("killed_t", t0), 6) if promoted else None,
            "promoted": promoted[1] if promoted else None,
            "rejoin_seconds": round(linked - heal, 6) if linked is not None and heal is not None else None,
            "write_unavailable_seconds": round(_longest_overlap(windows, t0, until), 6),
            "lost_writes": lost,
            "steady_seconds": round(e["steady_t"] - heal, 6) if e.get("steady_t") is not None and heal is not None
            else None,
            "steady_before_next": e.get("steady_t") is not None and e["steady_t"] <= until,
            "skipped": e.get("skipped"),
        }
        problems = []
        if e.get("skipped"):
            problems.append(f"skipped: {e['skipped']}")
        else:
            if failover and promoted is None:
                problems.append("no replica took over")
            if rec["rejoin_seconds"] is None and (failover or e["role"] == "replica"):
                problems.append("the node did not come back as a linked replica")
            if e.get("steady_t") is None:
                problems.append("the cluster did not return to its steady state")
            if lost:
                problems.append(f"{lost} acknowledged write(s) lost")
        rec["outcome"] = "ok" if not problems else "; ".join(problems)
        out.append(rec)
    return out


def writable_seconds(availability: dict[str, Any], start_t: float, end_t: float) -> dict[str, Any]:
    """The share of the load's seconds in which every slot group accepted writes (one minus the
    union of every group's windows without an acknowledged write, each ≥ the checker's minimum
    window), and the longest bad stretch."""
    spans = sorted([max(a, start_t), min(b, end_t)] for g in availability.values() for a, b in g.get("windows") or []
                   if b > start_t and a < end_t)
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    bad = sum(b - a for a, b in merged)
    total = max(end_t - start_t, 1e-9)
    longest = max(merged, key=lambda w: w[1] - w[0], default=None)
    return {"writable_fraction": round(1.0 - bad / total, 6), "unwritable_seconds": round(bad, 6),
            "longest_unwritable_seconds": round(longest[1] - longest[0], 6) if longest else 0.0,
            "longest_unwritable_window": [round(x, 6) for x in longest] if longest else None}


def by_kind(episodes: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per fault kind and role ("partition of a master"): how many episodes, and the median /
    p95 / max of its failover, write outage and rejoin (the median's 95 % interval where there
    are enough episodes)."""
    from chaos.stats import median, median_interval

    def name(e: dict[str, Any]) -> str:
        return f"{e['kind']} of a {e['role']}"

    out: dict[str, dict[str, Any]] = {}
    for kind in dict.fromkeys(name(e) for e in episodes):
        eps = [e for e in episodes if name(e) == kind and not e.get("skipped")]
        row: dict[str, Any] = {"episodes": len(eps), "ok": sum(1 for e in eps if e["outcome"] == "ok")}
        for key in ("failover_seconds", "write_unavailable_seconds", "rejoin_seconds"):
            values = sorted(v for e in eps if (v := e.get(key)) is not None)
            if values:
                p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
                interval = median_interval(values)
                row[key] = {"n": len(values), "median": round(median(values), 6), "p95": round(p95, 6),
                            "max": round(values[-1], 6),
                            "median_interval": [round(x, 6) for x in interval] if interval else None}
        out[kind] = row
    return out
