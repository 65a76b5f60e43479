"""Which slots go where when masters join or leave (pure: unit-tested on literal slot maps)."""

from __future__ import annotations

from chaos.topology.redis_info import SLOTS, ClusterNode

Move = tuple[int, str, str]  # slot, source node id, target node id


def owners_by_master(nodes: list[ClusterNode]) -> dict[str, list[int]]:
    """Master id → the slots it owns (every master listed, also those with none)."""
    out: dict[str, list[int]] = {n.node_id: [] for n in nodes if n.is_master and "fail" not in n.flags}
    for n in nodes:
        if n.node_id in out:
            for lo, hi in n.slots:
                out[n.node_id].extend(range(lo, hi + 1))
    return out


def plan_rebalance(owners: dict[str, list[int]], slots: int | None = None,
                   targets: list[str] | None = None) -> list[Move]:
    """Moves that even out slots over every master in ``owners`` (``slots`` None), or that give
    ``slots`` slots to ``targets`` taken evenly from the others. Slots leave a master from the
    top of its ranges, as redis-cli does."""
    masters = sorted(owners)
    have = {m: sorted(owners[m]) for m in masters}
    if slots is None:
        base, extra = divmod(SLOTS, len(masters))
        order = sorted(masters, key=lambda m: -len(have[m]))  # the fullest keep the remainder
        want = {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}
    else:
        targets = targets or []
        want = {m: len(have[m]) for m in masters}
        donors = [m for m in masters if m not in targets]
        for i in range(slots):
            want[targets[i % len(targets)]] += 1
        for _ in range(slots):  # take from whoever has most, one at a time
            donor = max(donors, key=lambda m: (want[m], m))
            want[donor] -= 1
    return _moves(have, want)


def plan_drain(owners: dict[str, list[int]], leaving: str) -> list[Move]:
    """Moves that empty ``leaving`` into the others, evening them out."""
    stay = sorted(m for m in owners if m != leaving)
    have = {m: sorted(owners[m]) for m in owners}
    total = sum(len(v) for v in have.values())
    base, extra = divmod(total, len(stay))
    order = sorted(stay, key=lambda m: -len(have[m]))
    want = {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}
    want[leaving] = 0
    return _moves(have, want)


def _moves(have: dict[str, list[int]], want: dict[str, int]) -> list[Move]:
    surplus = [(m, have[m][want[m]:]) for m in sorted(have) if len(have[m]) > want[m]]
    pool = [(slot, m) for m, slots in surplus for slot in reversed(slots)]
    moves: list[Move] = []
    for target in sorted(have):
        need = want[target] - len(have[target])
        for _ in range(max(0, need)):
            slot, source = pool.pop(0)
            moves.append((slot, source, target))
    return sorted(moves)


def slot_ranges(slots: list[int]) -> list[tuple[int, int]]:
    """Sorted slots → their runs: [0, 1, 2, 7] → [(0, 2), (7, 7)] (pure)."""
    runs: list[tuple[int, int]] = []
    for s in sorted(slots):
        if runs and runs[-1][1] + 1 == s:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs
