"""Which slots go where: pure planning of scale-out, scale-in and rebalancing."""

from collections import Counter

from chaos.topology.redis_info import SLOTS, split_slots
from chaos.topology.reshard import SlotMoved, summarize
from chaos.topology.reshard_plan import plan_drain, plan_rebalance


def three_masters():
    return {m: list(range(lo, hi + 1)) for m, (lo, hi) in zip("abc", split_slots(3))}


def after(owners, moves):
    owners = {m: set(s) for m, s in owners.items()}
    for slot, source, target in moves:
        assert slot in owners[source]
        owners[source].remove(slot)
        owners[target].add(slot)
    return owners


def test_rebalance_onto_a_new_master_moves_a_quarter_of_the_slots():
    owners = {**three_masters(), "d": []}
    moves = plan_rebalance(owners)
    assert len(moves) == 4096 and {t for _, _, t in moves} == {"d"}
    result = after(owners, moves)
    assert sorted(len(s) for s in result.values()) == [4096] * 4
    assert set().union(*result.values()) == set(range(SLOTS))
    # taken evenly from the three old masters, from the top of their ranges
    assert sorted(Counter(s for _, s, _ in moves).values()) == [1365, 1365, 1366]
    assert all(slot > 4000 for slot, source, _ in moves if source == "a")


def test_a_given_number_of_slots_goes_to_the_targets():
    owners = {**three_masters(), "d": []}
    moves = plan_rebalance(owners, slots=300, targets=["d"])
    assert len(moves) == 300 and all(t == "d" for _, _, t in moves)
    donors = after(owners, moves)
    sizes = [len(donors[m]) for m in "abc"]
    assert max(sizes) - min(sizes) <= 1  # the donors stay even
    assert len(donors["d"]) == 300


def test_drain_empties_the_leaving_master_evenly():
    owners = {m: list(range(lo, hi + 1)) for m, (lo, hi) in zip("abcd", split_slots(4))}
    moves = plan_drain(owners, "b")
    result = after(owners, moves)
    assert result["b"] == set() and len(moves) == 4096
    assert sorted(len(result[m]) for m in "acd") == [5461, 5461, 5462]


def test_already_even_needs_no_move():
    assert plan_rebalance(three_masters()) == []


def test_summary_of_moved_slots():
    moved = [SlotMoved(1, "a", "d", 10, 1000, 0.01, 100.0), SlotMoved(2, "a", "d", 30, 3000, 0.03, 100.01),
             SlotMoved(3, "b", "d", 20, 2000, 0.02, 100.04)]
    s = summarize(moved)
    assert s["slots_moved"] == 3 and s["keys_migrated"] == 60 and s["bytes_migrated"] == 6000
    assert abs(s["migration_seconds"] - 0.06) < 1e-9 and s["keys_per_second"] == 1000.0
    assert s["slot_seconds"] == {"p50": 0.02, "p99": 0.03, "max": 0.03}


def test_atomic_migration_helpers():
    from chaos.topology.reshard_atomic import AtomicJob, parse_migrations, summarize_jobs, supports_atomic
    from chaos.topology.reshard_plan import slot_ranges

    assert slot_ranges([7, 0, 2, 1, 9, 8]) == [(0, 2), (7, 9)]
    assert slot_ranges([]) == []
    # GETSLOTMIGRATIONS as RESP2 sends it: one flat field/value list per job (values as bytes)
    reply = [[b"name", b"2b21", b"operation", b"EXPORT", b"slot_ranges", b"0-4000", b"target_node", b"3514",
              b"state", b"success", b"message", b"", b"remaining_repl_size", 0],
             [b"name", b"9039", b"operation", b"IMPORT", b"slot_ranges", b"4001-8191", b"state", b"failed",
              b"message", b"Connection lost to source."]]
    jobs = parse_migrations(reply)
    assert jobs[0] == {"name": "2b21", "operation": "EXPORT", "slot_ranges": "0-4000", "target_node": "3514",
                       "state": "success", "message": "", "remaining_repl_size": 0}
    assert jobs[1]["state"] == "failed" and jobs[1]["message"] == "Connection lost to source."
    assert supports_atomic({"server_name": "valkey", "valkey_version": "9.1.2"})
    assert not supports_atomic({"server_name": "valkey", "valkey_version": "8.1.1"})
    assert not supports_atomic({"redis_version": "8.0.2"})
    done = AtomicJob("a", "n", [(0, 99)], keys=1000, started=10.0, seconds=0.5, state="success")
    failed = AtomicJob("b", "n", [(100, 199)], keys=900, started=10.5, seconds=0.25, state="failed", message="x")
    s = summarize_jobs([done, failed], {"a": "127.0.0.11:7001", "n": "127.0.0.17:7007"})
    assert (s["slots_moved"], s["keys_migrated"], s["migration_seconds"], s["keys_per_second"]) == (100, 1000, 0.75, 1333.3)
    assert s["method"] == "atomic" and s["jobs"][0]["source"] == "127.0.0.11:7001" and s["jobs"][1]["state"] == "failed"
