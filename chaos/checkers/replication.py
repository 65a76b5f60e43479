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


def gtid_reached(replica: str | None, target: str | None) -> bool:
    """True when the replica's executed GTID position includes ``target``'s, domain by domain."""
    have, want = parse_gtid(replica), parse_gtid(target)
    return all(have.get(d, 0) >= seq for d, seq in want.items())


def is_caught_up(sample: Sample | None, target_gtid: str | None, below: float = 1.0) -> bool:
    """Heartbeat lag under ``below`` s, SQL thread running, and ``target_gtid`` executed."""
    return bool(sample and sample.get("up") and sample.get("heartbeat_lag") is not None
                and sample["heartbeat_lag"] < below and sample.get("sql_thread") == "Yes"
                and (target_gtid is None or gtid_reached(sample.get("gtid"), target_gtid)))


def lag_summary(samples: Iterable[Sample], fault_t: float, restart_t: float | None,
                target_gtid: str | None, caught_up_below: float = 1.0) -> dict[str, Any]:
    """Max heartbeat lag (and Seconds_Behind_Master), and catch-up: the first sample after the
    restart with heartbeat lag < ``caught_up_below`` s and everything the source had written at
    the restart (``target_gtid``) executed."""
    max_lag = max_sbm = None
    max_before = None
    caught_up_at = None
    for s in samples:
        if s.get("source", "probe") != "probe" or not s.get("up"):
            continue
        lag, sbm = s.get("heartbeat_lag"), s.get("seconds_behind_master")
        if lag is not None:
            max_lag = lag if max_lag is None else max(max_lag, lag)
            if s["time"] < fault_t:
                max_before = lag if max_before is None else max(max_before, lag)
        if sbm is not None:
            max_sbm = sbm if max_sbm is None else max(max_sbm, sbm)
        if caught_up_at is None and restart_t is not None and s["time"] >= restart_t \
                and is_caught_up(s, target_gtid, caught_up_below):
            caught_up_at = s["time"]
    return {
        "max_lag_seconds": round(max_lag, 6) if max_lag is not None else None,
        "max_lag_before_fault_seconds": round(max_before, 6) if max_before is not None else None,
        "max_seconds_behind_master": max_sbm,
        "caught_up_at": caught_up_at,
        "catchup_seconds": round(caught_up_at - restart_t, 6) if caught_up_at is not None and restart_t else None,
    }
