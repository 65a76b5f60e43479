"""The end state of a cluster after slots moved (pure reads of every node, no change): who
owns each slot by every node's view, open slots, misplaced keys, linked replicas, and what
became of the preloaded keys and of a job's slots interrupted by a kill."""

from __future__ import annotations

from typing import Any

from chaos.clients.resp import ClusterClient, Connection
from chaos.errors import ChaosError
from chaos.topology.redis_info import SLOTS, parse_cluster_nodes, parse_info


def masters_view(cluster: Any) -> list[Any]:
    """The masters (ClusterNode) as the first answering node sees them."""
    for spec in cluster.specs:
        try:
            return [n for n in parse_cluster_nodes(cluster.client(spec).execute_command("CLUSTER", "NODES"))
                    if n.is_master and "fail" not in n.flags]
        except Exception:
            continue
    raise ChaosError("no node of the cluster answers CLUSTER NODES")


def addresses(cluster: Any) -> dict[str, str]:
    """Node id → address of every master."""
    return {n.node_id: n.address for n in masters_view(cluster)}


def slots_in_flight(cluster: Any, ranges: list[list[int]] | None) -> dict[str, Any] | None:
    """Where the slots of a job interrupted by a kill ended up: owner address → slot count."""
    if not ranges:
        return None
    owner = {}
    for n in masters_view(cluster):
        for lo, hi in n.slots:
            for slot in range(lo, hi + 1):
                owner[slot] = n.address
    counts: dict[str, int] = {}
    for lo, hi in ranges:
        for slot in range(lo, hi + 1):
            where = owner.get(slot, "unowned")
            counts[where] = counts.get(where, 0) + 1
    return {"slots": sum(hi - lo + 1 for lo, hi in ranges), "owners": counts}


def preload_missing(cluster: Any, prefix: str | None, count: int, sample: int = 20_000) -> int | None:
    """How many of (a sample of) the preloaded keys are missing now."""
    if not prefix or not count:
        return None
    step = max(1, count // sample)
    keys = [f"{prefix}{i}" for i in range(0, count, step)]
    client = ClusterClient([s.address for s in cluster.specs], timeout=5)
    try:
        client.refresh()
        found = client.read_keys(keys)
    finally:
        client.close()
    return sum(1 for k in keys if found.get(k) is None)


def end_state(cluster: Any, removed_ids: list[str] | tuple[str, ...] = (), check_keys: bool = True,
              replicas_per_master: int | None = None) -> dict[str, Any]:
    """The cluster after a reshard, from every node: each slot owned once and every node
    agreeing, open slots, keys on a node that does not own their slot, replicas linked,
    cluster_state, slot balance, and nodes still known although removed."""
    views: dict[str, dict[int, str]] = {}
    open_slots = misplaced = not_ok = unlinked = knowing_removed = 0
    slots_owned_once = True
    per_master: dict[str, int] = {}
    replicas_of: dict[str | None, int] = {}
    for spec in cluster.specs:
        conn = Connection(spec.host, spec.port, timeout=5)
        try:
            nodes = parse_cluster_nodes(conn.call("CLUSTER", "NODES").decode())
            info = parse_info(conn.call("CLUSTER", "INFO").decode())
            repl = parse_info(conn.call("INFO", "replication").decode())
            me = next(n for n in nodes if n.is_myself)
            owner: dict[int, str] = {}
            for n in nodes:
                if n.is_master:
                    for lo, hi in n.slots:
                        for slot in range(lo, hi + 1):
                            if slot in owner:
                                slots_owned_once = False
                            owner[slot] = n.address
            if len(owner) != SLOTS:
                slots_owned_once = False
            views[spec.name] = owner
            open_slots += len(me.migrating) + len(me.importing)
            not_ok += info.get("cluster_state") != "ok"
            knowing_removed += bool(set(removed_ids) & {n.node_id for n in nodes})
            if me.is_master:
                per_master[spec.address] = sum(hi - lo + 1 for lo, hi in me.slots)
                if check_keys:
                    mine = {s for lo, hi in me.slots for s in range(lo, hi + 1)}
                    others = [s for s in range(SLOTS) if s not in mine]
                    counts = conn.call_many([("CLUSTER", "COUNTKEYSINSLOT", s) for s in others])
                    misplaced += sum(c for c in counts if isinstance(c, int))
            else:
                master = next((n.address for n in nodes if n.node_id == me.master_id), None)
                replicas_of[master] = replicas_of.get(master, 0) + 1
                unlinked += repl.get("master_link_status") != "up"
        finally:
            conn.close()
    first = next(iter(views.values()), {})
    masters_with_slots = [a for a, n in per_master.items() if n]
    ideal = SLOTS / max(1, len(masters_with_slots))
    counts = [per_master[a] for a in masters_with_slots]
    return {
        "slots_owned_once": slots_owned_once,
        "nodes_agree": all(v == first for v in views.values()),
        "open_slots": open_slots,
        "misplaced_keys": misplaced if check_keys else None,
        "replicas_unlinked": unlinked + (sum(max(0, replicas_per_master - replicas_of.get(a, 0))
                                             for a in masters_with_slots) if replicas_per_master else 0),
        "nodes_not_ok": not_ok,
        "slots_per_master": per_master,
        "slot_imbalance": round((max(counts) - min(counts)) / ideal, 6) if counts else None,
        "nodes_knowing_removed": knowing_removed,
    }
