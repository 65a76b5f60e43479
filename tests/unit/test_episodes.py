"""A soak judged episode by episode (chaos/checkers/episodes.py) on literal samples."""

import pytest

from chaos.checkers.episodes import EpisodeTimeline, by_kind, measure_episodes, writable_seconds

M1, R1, M2 = "127.0.0.11:7001", "127.0.0.14:7004", "127.0.0.12:7002"


def probe(t, node, role, master=None, owners=None, link="up"):
    return {"source": "probe", "time": t, "node": node, "up": True, "role": role, "master": master,
            "link": link if role == "replica" else None, "owners": owners or {}}


EPISODES = [
    {"index": 1, "kind": "kill", "role": "master", "target": "redis-1", "address": M1, "first_slot": 0,
     "replicas": {"redis-4": R1}, "group": "slots 0-5460", "injected_t": 10.0, "heal_t": 12.5, "steady_t": 14.0,
     "hold": None},
    {"index": 2, "kind": "pause", "role": "master", "target": "redis-2", "address": M2, "first_slot": 5461,
     "replicas": {"redis-5": "127.0.0.15:7005"}, "group": "slots 5461-10922", "injected_t": 13.0, "heal_t": 15.0,
     "steady_t": None, "hold": 2.0, "overlaps": 1},
    {"index": 3, "kind": "stop-replica", "role": "replica", "target": "redis-4", "address": R1,
     "master_before": M1, "group": "slots 0-5460", "injected_t": 30.0, "heal_t": 33.0, "steady_t": 34.0, "hold": 3.0},
    {"index": 4, "kind": "kill", "role": "master", "target": None, "injected_t": 40.0, "skipped": "no master free"},
]


def timeline():
    tl = EpisodeTimeline(EPISODES)
    for s in [
        probe(9.9, "redis-4", "replica", master=M1),
        probe(12.2, "redis-4", "master", owners={"0": R1}),       # promoted 2.2 s after the kill
        probe(12.1, "redis-4", "master", owners={"0": None}),    # earlier, but not yet owner: not a promotion
        probe(13.9, "redis-1", "replica", master=R1, link="down"),
        probe(14.2, "redis-1", "replica", master=R1),             # rejoined 1.7 s after the heal
        probe(31.0, "redis-4", "master", owners={"0": R1}),       # still master: the replica of episode 3 is...
        probe(33.6, "redis-4", "replica", master=M1),             # ...back linked to its master 0.6 s after heal
        {"source": "log", "time": 12.0, "node": "redis-4", "event": "election_won"},
    ]:
        tl.feed(s)
    return tl


def test_each_episode_gets_the_single_fault_figures_and_an_outcome():
    availability = {"slots 0-5460": {"windows": [[9.9, 12.4], [30.5, 30.8]]},
                    "slots 5461-10922": {"windows": [[12.9, 18.0]]}}
    eps = measure_episodes(EPISODES, timeline(), availability, lost_times=[13.5, 13.6, 99.0], end_t=50.0,
                           node_timeout_ms=1000)
    kill, pause, stop, skipped = eps
    assert kill["failover_seconds"] == pytest.approx(2.2) and kill["promoted"] == R1
    assert kill["rejoin_seconds"] == pytest.approx(1.7)
    assert kill["write_unavailable_seconds"] == pytest.approx(2.4)   # [10, 12.4] of the window within [10, 13)
    assert kill["steady_seconds"] == pytest.approx(1.5) and kill["steady_before_next"] is False  # 14 > 13
    assert kill["lost_writes"] == 0 and kill["outcome"] == "ok"
    # the paused master: no promotion seen, never steady, two writes lost in its window (13 → 30)
    assert pause["failover_seconds"] is None and pause["lost_writes"] == 2
    assert pause["write_unavailable_seconds"] == pytest.approx(5.0)
    assert pause["outcome"] == ("no replica took over; the node did not come back as a linked replica; "
                                "the cluster did not return to its steady state; 2 acknowledged write(s) lost")
    assert stop["rejoin_seconds"] == pytest.approx(0.6) and stop["outcome"] == "ok"
    assert stop["write_unavailable_seconds"] == pytest.approx(0.3)
    assert skipped["outcome"] == "skipped: no master free" and skipped["lost_writes"] == 0  # 99.0 is after the end


def test_a_short_hold_expects_no_failover_and_no_rejoin():
    short = [{**EPISODES[1], "hold": 0.5, "steady_t": 15.5, "overlaps": None}]
    (e,) = measure_episodes(short, EpisodeTimeline(short), {}, [], 20.0, node_timeout_ms=1000)
    assert e["outcome"] == "ok" and e["failover_seconds"] is None


def test_writable_seconds_is_one_minus_the_union_of_every_groups_windows():
    availability = {"a": {"windows": [[10.0, 12.0], [30.0, 31.0]]}, "b": {"windows": [[11.0, 14.0], [95.0, 120.0]]}}
    w = writable_seconds(availability, start_t=0.0, end_t=100.0)
    assert w["unwritable_seconds"] == pytest.approx(4.0 + 1.0 + 5.0)  # [10,14] ∪ [30,31] ∪ [95,100]
    assert w["writable_fraction"] == pytest.approx(0.9)
    assert w["longest_unwritable_seconds"] == pytest.approx(5.0) and w["longest_unwritable_window"] == [95.0, 100.0]
    assert writable_seconds({}, 0.0, 10.0)["writable_fraction"] == 1.0


def test_by_kind_gives_median_p95_max_and_the_medians_interval():
    eps = [{"kind": "kill", "role": "master", "outcome": "ok", "skipped": None, "failover_seconds": float(v),
            "write_unavailable_seconds": float(v) + 0.1, "rejoin_seconds": None} for v in range(1, 21)]
    eps.append({"kind": "pause", "role": "master", "outcome": "lost", "skipped": None, "failover_seconds": None,
                "write_unavailable_seconds": 3.0, "rejoin_seconds": 1.0})
    k = by_kind(eps)
    assert k["kill of a master"]["episodes"] == 20 and k["kill of a master"]["ok"] == 20
    f = k["kill of a master"]["failover_seconds"]
    assert f["median"] == 10.5 and f["max"] == 20.0 and f["p95"] == 19.0
    assert f["median_interval"][0] < 10.5 < f["median_interval"][1]
    assert k["pause of a master"]["ok"] == 0 and "failover_seconds" not in k["pause of a master"]
