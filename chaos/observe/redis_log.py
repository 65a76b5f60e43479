"""The server's own view of a failover, parsed from redis-server and valkey-server logs (Valkey
says "primary" where Redis says "master": both are matched)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

LINE = re.compile(r"^(\d+):([A-Z]) (\d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) [.\-*#] (.*)$")
EVENTS = [
    ("marked_failing", re.compile(r"Marking node (\S+) (?:\(\S*\) )?as failing")),
    ("election_delayed", re.compile(r"Start of election delayed for (\d+) milliseconds")),
    ("election_won", re.compile(r"Failover election won(?: for epoch (\d+))?")),
    ("cluster_state", re.compile(r"Cluster state changed: (\w+)")),
    ("reconfigured_as_replica", re.compile(r"Configuration change detected\. Reconfiguring myself as a replica of (\S+)")),
    ("sync_finished", re.compile(r"(?:MASTER|PRIMARY) <-> REPLICA sync: Finished with success")),
    ("master_link_lost", re.compile(r"Connection with (?:master|primary) lost")),
    ("ready", re.compile(r"Ready to accept connections")),
]


def parse_log_time(text: str) -> float:
    """'29 Nov 2026 14:52:55.123' in the server's local time → unix time."""
    return dt.datetime.strptime(text, "%d %b %Y %H:%M:%S.%f").timestamp()


def parse_redis_log(lines: Iterable[str], node: str) -> list[dict[str, Any]]:
    """Lines of one node's log → [{'node', 'wall', 'event', 'detail', 'message'}] for the
    events a failover verdict cares about (pure: no clock, no files)."""
    out = []
    for line in lines:
        m = LINE.match(line.rstrip("\n"))
        if not m:
            continue
        message = m.group(4)
        for event, pattern in EVENTS:
            hit = pattern.search(message)
            if hit:
                out.append({"node": node, "wall": parse_log_time(m.group(3)), "event": event,
                            "detail": hit.group(1) if hit.groups() else None, "message": message})
                break
    return out
