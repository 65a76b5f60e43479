"""Replication verdicts from the replica probe's timeline (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Sample = dict[str, Any]


def parse_gtid(text: str | None) -> dict[tuple[int, int] | int, int]:
    """MariaDB '0-1-1234,1-2-5' → {domain: seq}; MySQL 'uuid:1-1234' → {uuid: last}."""
    out: dict[Any, int] = {}
    for part in filter(None, (p.strip() for p in (text or "").replace("\n", "").split(","))):
        if re.fullmatch(r"\d+-\d+-\d+", part):
            domain, _, seq = part.split("-")
            out[int(domain)] = max(out.get(int(domain), 0), int(seq))
        elif ":" in part:
            uuid, _, ranges = part.partition(":")
            out[uuid] = max(int(r.split("-")[-1]) for r in ranges.split(":"))
    return out


def parse_gtid_set(text: str | None) -> dict[str, list[tuple[int, int]]]:
    """MySQL's GTID set ``uuid:1-5:7,uuid2:1-3`` → {uuid: [(1, 5), (7, 7)]}, intervals merged."""
    out: dict[str, list[tuple[int, int]]] = {}
    for part in filter(None, (p.strip() for p in (text or "").replace("\n", "").split(","))):
        uuid, _, ranges = part.partition(":")
        for r in filter(None, ranges.split(":")):
            lo, _, hi = r.partition("-")
            out.setdefault(uuid.lower(), []).append((int(lo), int(hi or lo)))
    return {u: _merge(iv) for u, iv in out.items()}


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def gtid_set_minus(a: str | None, b: str | None) -> dict[str, list[tuple[int, int]]]:
    """The transactions of MySQL GTID set ``a`` that ``b`` lacks (what GTID_SUBTRACT gives): on an
    old source against the new one, its errant transactions."""
    have = parse_gtid_set(b)
    out = {}
    for uuid, intervals in parse_gtid_set(a).items():
        left = []
        for lo, hi in intervals:
            for blo, bhi in have.get(uuid, []):
                if bhi < lo or blo > hi:
                    continue
                if blo > lo:
                    left.append((lo, blo - 1))
                lo = max(lo, bhi + 1)
                if lo > hi:
                    break
            if lo <= hi:
                left.append((lo, hi))
        if left:
            out[uuid] = left
    return out


def format_gtid_set(gtids: dict[str, list[tuple[int, int]]]) -> str:
    return ",".join(f"{u}:" + ":".join(f"{lo}-{hi}" if hi > lo else f"{lo}" for lo, hi in iv)
                    for u, iv in sorted(gtids.items()))


def gtid_reached(replica: str | None, target: str | None) -> bool:
    """True when the replica's executed GTID position includes ``target``'s: MySQL sets by
    containment (every transaction of the target, gaps included, as GTID_SUBSET), MariaDB
    positions domain by domain."""
    if target and re.search(r"[0-9a-fA-F-]{36}:", target):
        return not gtid_set_minus(target, replica)
    have, want = parse_gtid(replica), parse_gtid(target)
    return all(have.get(d, 0) >= seq for d, seq in want.items())


def binlog_position(file: str, pos: int) -> str:
    """A source's binary log coordinates as the harness writes them: ``mysql-bin.000002@1381``
    (``@`` appears in no GTID set, so a position and a GTID set are never confused)."""
    return f"{file}@{int(pos)}"


def parse_binlog_position(text: str | None) -> tuple[str, int] | None:
    """``mysql-bin.000002@1381`` → ("mysql-bin.000002", 1381); None for a GTID set or nothing."""
    if not text or "@" not in text:
        return None
    file, _, pos = text.rpartition("@")
    return file, int(pos)


def position_reached(applied: str | None, target: str | None) -> bool:
    """Binary log coordinates: whether ``applied`` is at or past ``target`` (files compare by
    their zero-padded sequence number, then positions)."""
    have, want = parse_binlog_position(applied), parse_binlog_position(target)
    if want is None:
        return True
    return have is not None and (have[0], have[1]) >= (want[0], want[1])


def target_reached(sample: Sample, target: str | None) -> bool:
    """Whether a probe sample's replica executed ``target``: a GTID set (containment, domain by
    domain), or binary log coordinates ``file@pos`` (position replication: the applier's source
    position, the sample's ``applied_pos``)."""
    if target is None:
        return True
    if parse_binlog_position(target) is not None:
        return position_reached(sample.get("applied_pos"), target)
    return gtid_reached(sample.get("gtid"), target)


def is_caught_up(sample: Sample | None, target: str | None, below: float = 1.0) -> bool:
    """Heartbeat lag under ``below`` s, SQL thread running, and ``target`` (the source's GTID set
    or binary log position at the restart) executed."""
    return bool(sample and sample.get("up") and sample.get("heartbeat_lag") is not None
                and sample["heartbeat_lag"] < below and sample.get("sql_thread") == "Yes"
                and target_reached(sample, target))


def transactions(position: str | None) -> int | None:
    """How many transactions a GTID position holds: MariaDB's sequence numbers summed over its
    domains, MySQL's GTID set counted interval by interval; None for binary log coordinates."""
    if not position or parse_binlog_position(position) is not None:
        return None
    if re.search(r"[0-9a-fA-F-]{36}:", position):
        return sum(hi - lo + 1 for iv in parse_gtid_set(position).values() for lo, hi in iv)
    seqs = parse_gtid(position)
    return sum(seqs.values()) if seqs else None


def catchup_blocked(samples: Iterable[Sample], restart_t: float, target: str | None,
                    below: float = 1.0, until: float | None = None) -> str | None:
    """Why a replica that never caught up did not, read from the probe's samples after the
    restart: down or stopped, ``target`` never executed, or (executed, but the heartbeat lag
    stayed ≥ ``below`` s) the lag's trend. A replica whose lag rose by ``s`` seconds per second
    applies the source's history at (1 − s)× real time, so its source wrote about
    applied/(1 − s) transactions per second: when s > 0, it cannot catch up at this write rate.
    ``until``: when the wait (under load) ended; later samples are left out."""
    after = [s for s in samples if s.get("source", "probe") == "probe" and s["time"] >= restart_t
             and (until is None or s["time"] <= until)]
    up = [s for s in after if s.get("up")]
    if not up:
        return "the replica never answered after its restart"
    last = up[-1]
    if last.get("sql_thread") != "Yes":
        return f"its SQL thread is {last.get('sql_thread') or 'not running'} (error {last.get('last_errno') or 0})"
    if not target_reached(last, target):
        return f"it never executed what the source had at the restart ({target})"
    lagged = [s for s in up if s.get("heartbeat_lag") is not None and target_reached(s, target)]
    if len(lagged) < 2 or lagged[-1]["time"] - lagged[0]["time"] < 1:
        return f"its heartbeat lag never fell below {below:g} s"
    first, span = lagged[0], lagged[-1]["time"] - lagged[0]["time"]
    slope = _slope([(s["time"], s["heartbeat_lag"]) for s in lagged])
    why = (f"it had applied everything the source had at the restart, but its heartbeat lag went "
           f"{first['heartbeat_lag']:.1f} → {last['heartbeat_lag']:.1f} s over {span:.0f} s ({slope:+.3f} s per s)")
    done = [transactions(first.get("gtid")), transactions(last.get("gtid"))]
    if done[0] is not None and done[1] is not None:
        applied = (done[1] - done[0]) / span
        why += f" while it applied {applied:.0f} transactions/s"
        if 0 < slope < 1:
            why += f" and the source wrote about {applied / (1 - slope):.0f}/s"
    if slope > 0:
        why += (": it applies slower than the source writes and cannot catch up while the load runs "
                "(lower --rate, or give the replica parallel appliers)")
    return why


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def lag_summary(samples: Iterable[Sample], fault_t: float, restart_t: float | None,
                target_gtid: str | None, caught_up_below: float = 1.0, wait_end: float | None = None) -> dict[str, Any]:
    """Max heartbeat lag (and Seconds_Behind_Master, and performance_schema's apply lag where the
    server has it), and catch-up: the first sample after the restart with heartbeat lag <
    ``caught_up_below`` s and everything the source had written at the restart (``target_gtid``:
    a GTID set or binary log coordinates) executed. ``seconds_behind_null_samples`` counts the
    answering samples whose Seconds_Behind_Master was NULL (a replication thread stopped).
    ``wait_end``: when the wait for the catch-up (under load) ended; a catch-up later (the load
    stopped) is not one, and ``catchup_blocked`` says why there was none."""
    samples = list(samples)
    max_lag = max_sbm = max_applier = None
    max_before = None
    caught_up_at = None
    sbm_nulls = 0
    for s in samples:
        if s.get("source", "probe") != "probe" or not s.get("up"):
            continue
        lag, sbm, applier = s.get("heartbeat_lag"), s.get("seconds_behind_master"), s.get("applier_lag")
        if applier is not None:
            max_applier = applier if max_applier is None else max(max_applier, applier)
        if sbm is None:
            sbm_nulls += 1
        if lag is not None:
            max_lag = lag if max_lag is None else max(max_lag, lag)
            if s["time"] < fault_t:
                max_before = lag if max_before is None else max(max_before, lag)
        if sbm is not None:
            max_sbm = sbm if max_sbm is None else max(max_sbm, sbm)
        if caught_up_at is None and restart_t is not None and s["time"] >= restart_t \
                and (wait_end is None or s["time"] <= wait_end) and is_caught_up(s, target_gtid, caught_up_below):
            caught_up_at = s["time"]
    return {
        "max_lag_seconds": round(max_lag, 6) if max_lag is not None else None,
        "max_lag_before_fault_seconds": round(max_before, 6) if max_before is not None else None,
        "max_seconds_behind_master": max_sbm,
        "seconds_behind_null_samples": sbm_nulls,
        "max_applier_lag_seconds": round(max_applier, 6) if max_applier is not None else None,
        "caught_up_at": caught_up_at,
        "catchup_seconds": round(caught_up_at - restart_t, 6) if caught_up_at is not None and restart_t else None,
        "catchup_blocked": catchup_blocked(samples, restart_t, target_gtid, caught_up_below, wait_end)
        if caught_up_at is None and restart_t is not None else None,
    }


def parse_mariadb_state(text: str | None) -> dict[tuple[int, int], int]:
    """MariaDB's ``gtid_binlog_state`` ``0-1-100,0-2-140`` → {(domain, server): last seq}."""
    out: dict[tuple[int, int], int] = {}
    for part in filter(None, (p.strip() for p in (text or "").replace("\n", "").split(","))):
        if re.fullmatch(r"\d+-\d+-\d+", part):
            domain, server, seq = (int(x) for x in part.split("-"))
            out[(domain, server)] = max(out.get((domain, server), 0), seq)
    return out


def mariadb_errant(old_state: str | None, new_state: str | None) -> list[tuple[int, int, int, int]]:
    """What an old MariaDB source wrote that the new one never had, server by server: from both
    servers' ``gtid_binlog_state``, (domain, server, first seq, last seq) for every domain and
    server whose last transaction on the old source is past the new source's (the new one
    logged every transaction it applied, under its original server id)."""
    have = parse_mariadb_state(new_state)
    return [(d, server, have.get((d, server), 0) + 1, seq)
            for (d, server), seq in sorted(parse_mariadb_state(old_state).items()) if seq > have.get((d, server), 0)]


def gtid_count(gtids: dict[str, list[tuple[int, int]]]) -> int:
    """How many transactions a parsed MySQL GTID set holds."""
    return sum(hi - lo + 1 for intervals in gtids.values() for lo, hi in intervals)
