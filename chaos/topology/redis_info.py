"""Pure parsers for what Redis says about itself: INFO, CLUSTER INFO, CLUSTER NODES."""

from __future__ import annotations

from dataclasses import dataclass, field

SLOTS = 16384


def parse_info(text: str) -> dict[str, str]:
    """``INFO`` / ``CLUSTER INFO`` text → {field: value} (section headers and blanks skipped)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        out[key] = value
    return out


@dataclass
class ClusterNode:
    """One line of ``CLUSTER NODES``."""

    node_id: str
    address: str  # host:port (bus port and hostname stripped)
    flags: set[str]
    master_id: str | None
    config_epoch: int
    link_state: str
    slots: list[tuple[int, int]] = field(default_factory=list)
    migrating: dict[int, str] = field(default_factory=dict)  # slot → node id it is migrating to
    importing: dict[int, str] = field(default_factory=dict)  # slot → node id it is importing from

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def is_myself(self) -> bool:
        return "myself" in self.flags

    @property
    def failing(self) -> bool:
        return "fail" in self.flags or "fail?" in self.flags


def parse_cluster_nodes(text: str) -> list[ClusterNode]:
    """``CLUSTER NODES`` text → nodes. Open slots (``[slot->-id]`` migrating, ``[slot-<-id]``
    importing; only the node itself shows them) go to ``migrating`` / ``importing``."""
    nodes = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        address = parts[1].split("@", 1)[0]
        slots: list[tuple[int, int]] = []
        migrating: dict[int, str] = {}
        importing: dict[int, str] = {}
        for item in parts[8:]:
            if item.startswith("["):
                body = item.strip("[]")
                if "->-" in body:
                    slot, _, other = body.partition("->-")
                    migrating[int(slot)] = other
                elif "-<-" in body:
                    slot, _, other = body.partition("-<-")
                    importing[int(slot)] = other
                continue
            lo, _, hi = item.partition("-")
            slots.append((int(lo), int(hi or lo)))
        nodes.append(
            ClusterNode(
                node_id=parts[0],
                address=address,
                flags=set(parts[2].split(",")),
                master_id=None if parts[3] == "-" else parts[3],
                config_epoch=int(parts[6]),
                link_state=parts[7],
                slots=slots,
                migrating=migrating,
                importing=importing,
            )
        )
    return nodes


def format_slots(ranges: list[tuple[int, int]]) -> str:
    """[(0, 5460), (7000, 7000)] → '0-5460,7000'."""
    return ",".join(f"{lo}-{hi}" if hi != lo else str(lo) for lo, hi in sorted(ranges))


def split_slots(masters: int) -> list[tuple[int, int]]:
    """Spread the 16384 slots evenly over ``masters`` contiguous ranges (as redis-cli does)."""
    if masters < 1:
        raise ValueError("a cluster needs at least one master")
    bounds = [round(i * SLOTS / masters) for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def slot_count(ranges: list[tuple[int, int]]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


def parse_slot_ranges(text: str) -> list[tuple[int, int]]:
    """``"0-5460,6000"`` (as ``chaos status`` shows slots) → [(0, 5460), (6000, 6000)]."""
    out = []
    for part in filter(None, (text or "").split(",")):
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out
