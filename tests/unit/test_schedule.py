"""Soak schedules (chaos/schedule.py) on literal arguments: seeded, reproducible, replayable."""

import json

import pytest

from chaos import schedule as sch
from chaos.errors import ChaosError


def test_durations_and_intervals_parse_or_are_refused_in_one_line():
    assert sch.parse_duration("90") == sch.parse_duration("90s") == 90.0
    assert sch.parse_duration("20m") == 1200.0 and sch.parse_duration("1.5h") == 5400.0
    assert sch.parse_interval("40s±15s") == sch.parse_interval("40s+-15s") == (40.0, 15.0)
    assert sch.parse_interval("30") == (30.0, 0.0)
    for bad, message in (("soon", "not a duration"), ("10s±10s", "larger than the jitter"), ("0", "positive")):
        with pytest.raises(ChaosError, match=message):
            sch.parse_interval(bad)
    with pytest.raises(ChaosError, match="unknown fault 'explode'; faults: kill, pause"):
        sch.parse_faults("kill,explode")
    assert sch.parse_faults("kill, pause,kill") == ("kill", "pause")


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another(tmp_path):
    args = dict(faults="kill,pause,partition", duration=1200.0, interval=40.0, jitter=15.0, node_timeout_ms=2000,
                start=5.0)
    a, b, c = sch.build(7, **args), sch.build(7, **args), sch.build(8, **args)
    sch.write(tmp_path / "a.json", a)
    sch.write(tmp_path / "b.json", b)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert a.episodes != c.episodes
    eps = a.episodes
    assert 20 <= len(eps) <= 45 and {e.kind for e in eps} == {"kill", "pause", "partition"}
    gaps = [y.at - x.at for x, y in zip(eps, eps[1:])]
    assert all(25.0 <= g <= 55.0 for g in gaps) and 25.0 + 5.0 <= eps[0].at <= 55.0 + 5.0
    for e in eps:
        assert e.role in sch.KINDS[e.kind] and e.overlaps is None
        assert e.hold == (None if e.kind == "kill" else 6.0)  # 2 × 2 s + 2 s
        assert e.at + (e.hold or 4.0) + 40.0 <= 1200.0
    assert sch.load(tmp_path / "a.json") == a


def test_overlap_puts_a_second_episode_inside_the_first_and_a_fixed_hold_applies():
    s = sch.build(3, "kill,partition", duration=600.0, interval=30.0, jitter=5.0, node_timeout_ms=1000,
                  hold=4.0, overlap=1.0)
    pairs = [(s.episodes[e.overlaps - 1], e) for e in s.episodes if e.overlaps is not None]
    assert pairs and len(pairs) == len(s.episodes) // 2
    for first, second in pairs:
        busy = first.hold if first.hold is not None else 2.0
        assert first.at + 0.25 * busy - 1e-3 <= second.at <= first.at + 0.75 * busy + 1e-3
        assert second.index == first.index + 1
    assert {e.hold for e in s.episodes if e.kind == "partition"} == {4.0}
    with pytest.raises(ChaosError, match="probability"):
        sch.build(3, "kill", 600.0, 30.0, 5.0, 1000, overlap=1.5)


def test_one_episode_alone_keeps_the_one_it_overlaps_and_moves_to_the_start():
    s = sch.build(3, "kill,partition", duration=600.0, interval=30.0, jitter=5.0, node_timeout_ms=1000, overlap=1.0)
    second = next(e for e in s.episodes if e.overlaps is not None)
    alone = sch.only(s, second.index, start=5.0)
    first, moved = alone.episodes
    assert first.at == 5.0 and moved.overlaps == 1 and moved.index == 2
    assert moved.at - first.at == pytest.approx(second.at - s.episodes[second.overlaps - 1].at, abs=1e-3)
    single = sch.only(s, 1, start=5.0)
    assert len(single.episodes) == 1 and single.episodes[0].at == 5.0
    with pytest.raises(ChaosError, match="episodes 1 to"):
        sch.only(s, 999, 5.0)


def test_targets_are_chosen_by_role_at_that_moment():
    ep = sch.Episode(1, "kill", "master", pick=4, at=10.0, hold=None)
    roles = {"redis-1": "master", "redis-2": "master", "redis-3": "master", "redis-4": "replica"}
    assert sch.target(ep, roles) == "redis-2"  # sorted masters, 4 % 3 = 1
    assert sch.target(ep, roles, busy={"redis-2"}) == "redis-1"  # 4 % 2 = 0 of [redis-1, redis-3]
    assert sch.target(ep, {"redis-4": "replica"}) is None


@pytest.mark.parametrize("mangle, message", [
    (lambda d: d.update(version=9), "not a schedule.json"),
    (lambda d: d["episodes"][0].update(kind="explode"), "episode 1: explode"),
    (lambda d: d["episodes"][0].pop("at"), "missing or malformed"),
    (lambda d: d["episodes"].reverse(), "numbered 1.. in start order"),
])
def test_a_bad_replay_file_is_refused_in_one_line(tmp_path, mangle, message):
    s = sch.build(1, "kill,pause", 300.0, 30.0, 5.0, 1000)
    data = s.to_json()
    mangle(data)
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ChaosError, match=message):
        sch.load(path)
    path.write_text("{")
    with pytest.raises(ChaosError, match="not JSON"):
        sch.load(path)
