"""Chart series from small synthetic run directories, and the SVG they become."""

import json
import re

from reports import charts


def history(tmp_path, rows):
    """rows: (process, f, key, invoke time, completion type, completion time)."""
    path = tmp_path / "history.jsonl"
    with open(path, "w") as out:
        i = 0
        for process, f, key, t0, kind, t1 in rows:
            for type_, t in (("invoke", t0), (kind, t1)):
                out.write(json.dumps({"index": i, "time": t, "wall": 0, "type": type_, "process": process, "f": f,
                                      "key": key, "value": None, "node": None, "error": None}) + "\n")
                i += 1
    return path


def sample(node, t, role="master", up=True, state="ok", failing=(), master=None, offset=0):
    return {"source": "probe", "node": node, "address": f"a-{node}", "time": t, "up": up, "role": role,
            "cluster_state": state, "failing": list(failing), "master": master, "offset": offset}


RESULT = {"scenario": "master-kill", "faults": [{"kind": "kill", "injected_at": 5.0, "healed_at": 8.0}],
          "context": {"fault_t": 5.0, "heal_t": 8.0, "phases": [["warmup", 0.0], ["fault", 5.0]]},
          "measurements": {"failover_seconds": 2.5, "rejoin_seconds": 0.5},
          "per_second": [[1.0, 100, 0, 0, 1.0, 2.0], [2.0, 90, 10, 1, 1.0, 2.0]]}


def test_markers_put_the_fault_promotion_heal_and_rejoin_where_they_were():
    assert charts.markers(RESULT) == [(5.0, "kill"), (7.5, "promoted"), (8.0, "heal"), (8.5, "rejoined")]


def test_phase_names_stay_inside_the_window_and_off_narrow_phases():
    result = {**RESULT, "context": {"phases": [["warmup", 0.0], ["fault", 5.0], ["recovery", 7.5],
                                               ["cooldown", 7.7]]}, "per_second": [[30.0, 1, 0, 0, 1.0, 2.0]]}
    fig, ax = charts._figure()
    charts._decorate(ax, result, [], (4.0, 12.0))  # a zoom that starts inside the warm-up
    names = {t.get_text().strip(): t.get_position()[0] for t in ax.texts
             if t.get_text().strip() in ("warmup", "fault", "recovery", "cooldown")}
    assert names == {"warmup": 4.0, "fault": 5.0, "cooldown": 7.7}  # recovery: 0.2 s of an 8 s window
    fig, ax = charts._figure()
    charts._decorate(ax, result, [])
    assert "warmup" in [t.get_text().strip() for t in ax.texts]


def test_throughput_series():
    assert charts.throughput_series(RESULT) == {"t": [1.0, 2.0], "ok": [100, 90], "fail": [0, 10], "info": [0, 1]}


def test_roles_one_row_per_node_with_down_failing_and_cluster_fail():
    samples = [sample("redis-1", 0.0), sample("redis-1", 1.0, up=False), sample("redis-1", 2.0, up=False),
               sample("redis-1", 3.0, role="replica"),
               sample("redis-2", 0.0), sample("redis-2", 1.0, state="fail"), sample("redis-2", 2.0),
               sample("redis-10", 0.0, failing=["a-redis-2"])]
    rows = charts.role_series(samples)
    assert list(rows) == ["redis-1", "redis-2", "redis-10"]  # in node order, one row each
    assert [s[2] for s in rows["redis-1"]] == ["master", "down", "replica"]
    assert rows["redis-1"][1][:2] == (1.0, 3.0)
    assert [s[2] for s in rows["redis-2"]] == ["failing", "cluster_fail", "master"]


def test_latency_p99_per_bucket_and_failures_as_dots(tmp_path):
    rows = [(1, "write", f"k{i}", 0.01 * i, "ok", 0.01 * i + 0.001 * (i + 1)) for i in range(9)]
    rows += [(2, "write", "x", 0.02, "fail", 0.05), (3, "write", "y", 0.03, "info", 1.03)]
    s = charts.latency_series(history(tmp_path, rows))
    assert s["t"] == [0.0] and abs(s["max"][0] - 9.0) < 1e-6 and abs(s["p50"][0] - 5.0) < 1e-6
    assert [round(ms) for _, ms in s["fail"]] == [30] and [round(ms) for _, ms in s["info"]] == [1000]


def test_the_checkers_pass_gathers_the_same_latency_series_and_the_charts_use_it(tmp_path):
    from chaos.checkers import run
    from chaos.checkers.latency import LatencySeries
    from chaos.history import read_history
    from chaos.runner import LATENCY_SERIES_FILE

    # buckets 0.3 s apart: the early ones are summarised while the pass goes on
    rows = [(p, "write", f"k{p}{i}", 0.3 * i, "ok", 0.3 * i + 0.001 * (p + i + 1)) for i in range(12) for p in (1, 2)]
    rows += [(3, "write", "x", 0.02, "fail", 0.05), (4, "read", "y", 2.5, "ok", 2.51)]
    path = history(tmp_path, sorted(rows, key=lambda r: r[5]))
    series = LatencySeries()
    run(read_history(path), series)
    gathered = series.result()
    assert gathered == charts.latency_series(path) and len(gathered["t"]) == 13 and gathered["fail"]  # 12 + the read's
    assert gathered["t"] == sorted(gathered["t"])
    # a run keeps it: the chart reads it rather than the history
    (tmp_path / LATENCY_SERIES_FILE).write_text(json.dumps({**gathered, "t": [99.0], "p50": [1], "p99": [1],
                                                            "max": [1]}))
    assert charts.stored_latency_series(tmp_path)["t"] == [99.0]
    (tmp_path / LATENCY_SERIES_FILE).write_text("{torn")
    assert charts.stored_latency_series(tmp_path)["t"] == gathered["t"]


def test_zoom_counts_writes_of_the_chosen_keys_per_bucket(tmp_path):
    rows = [(1, "write", "v1", 0.9, "ok", 1.05), (1, "write", "v2", 1.1, "fail", 1.15),
            (2, "write", "o1", 1.0, "ok", 1.02), (1, "read", "v1", 1.2, "ok", 1.25)]
    s = charts.zoom_series(history(tmp_path, rows), 1.0, 1.2, keys=lambda k: k.startswith("v"))
    assert s["ok"] == [1, 0] and s["fail"] == [0, 1]


def test_lag_keeps_null_as_a_gap():
    samples = [{"time": 1.0, "up": True, "heartbeat_lag": 0.1, "seconds_behind_master": 0, "io_thread": "Yes",
                "sql_thread": "Yes"},
               {"time": 2.0, "up": True, "heartbeat_lag": 2.0, "seconds_behind_master": None, "io_thread": "Yes",
                "sql_thread": "No"},
               {"time": 3.0, "up": False}]
    s = charts.lag_series(samples)
    assert s["sbm"] == [0, None, None] and s["heartbeat"] == [0.1, 2.0, None] and s["sql"] == [True, False, False]


def test_slots_per_master_follow_the_moves(tmp_path):
    result = {"topology": {"before": [{"role": "master", "address": "A", "slots": "0-9"},
                                      {"role": "master", "address": "B", "slots": "10-19"}]}}
    with open(tmp_path / "reshard.jsonl", "w") as out:
        for i, slot in enumerate((9, 19)):
            out.write(json.dumps({"time": 1.0 + i, "slot": slot, "source": "AB"[i], "target": "C", "keys": 1,
                                  "bytes": 1, "seconds": 0.1}) + "\n")
    s = charts.slots_series(result, tmp_path / "reshard.jsonl")
    assert s["masters"] == {"A": [10, 9, 9], "B": [10, 10, 9], "C": [0, 1, 2]} and s["t"] == [1.0, 1.1, 2.1]


def test_charts_of_a_synthetic_run_are_self_contained_svg(tmp_path):
    samples = [sample("redis-1", t / 10, role="master" if t < 50 else "replica", up=not 20 <= t < 40)
               for t in range(80)] + [sample("redis-2", t / 10, role="replica", master="a-redis-1", offset=t)
                                      for t in range(80)]
    (tmp_path / "timeline.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    history(tmp_path, [(1, "write", f"k{i}", i / 10, "ok" if i % 7 else "fail", i / 10 + 0.001) for i in range(80)])
    made = charts.write(tmp_path, {**RESULT, "context": {**RESULT["context"]}})
    names = [c.name for c in made]
    assert names[:1] == ["throughput"] and {"latency", "roles"} <= set(names)
    for c in made:
        svg = charts.inline_svg(tmp_path, c)
        assert svg.startswith("<svg") and (tmp_path / c.png).stat().st_size > 1000
        assert set(re.findall(r"https?://[^\"' )]+", svg)) <= {"http://www.w3.org/2000/svg"}
    assert charts.existing(tmp_path) == made


def test_operations_per_second_by_kind(tmp_path):
    rows = [(1, "insert", "1", 0.1, "ok", 0.2), (1, "insert", "2", 0.3, "fail", 0.4), (2, "read", "1", 1.1, "ok", 1.2),
            (1, "insert", "3", 1.5, "ok", 1.6)]
    s = charts.operations_series(history(tmp_path, rows))
    assert {f: dict(c) for f, c in s.items()} == {"insert": {0: 1, 1: 1}, "read": {1: 1}}


SOAK = {"scenario": "soak", "faults": [{"kind": "kill", "injected_at": 10.0, "healed_at": 13.0}],
        "context": {"version": 2, "form": "redis-soak", "phases": [["warmup", 0.0], ["soak", 5.0]], "soak_t0": 5.0,
                    "load_end_t": 60.0, "node_timeout_ms": 1000,
                    "groups": [[0, 5460, "slots 0-5460"], [5461, 16383, "slots 5461-16383"]],
                    "episodes": [
                        {"index": 1, "kind": "kill", "role": "master", "target": "redis-1", "group": "slots 0-5460",
                         "injected_t": 10.0, "heal_t": 13.0, "steady_t": 14.5},
                        {"index": 2, "kind": "partition", "role": "master", "target": "redis-2",
                         "group": "slots 5461-16383", "injected_t": 30.0, "heal_t": 35.0},  # never steady again
                        {"index": 3, "kind": "pause", "role": "replica", "target": "redis-5", "injected_t": None}]},
        "measurements": {"worst_episode": 2, "episodes": [
            {"index": 1, "outcome": "ok", "write_unavailable_seconds": 2.4, "failover_seconds": 2.3},
            {"index": 2, "outcome": "not recovered", "write_unavailable_seconds": 4.0, "failover_seconds": None},
            {"index": 3, "outcome": "skipped", "write_unavailable_seconds": 0}]},
        "per_second": [[float(t), 100, 0, 0, 1.0, 2.0] for t in range(1, 61)]}


def test_a_soaks_episodes_are_bands_and_its_worst_is_zoomed(tmp_path):
    assert charts.markers(SOAK) == []  # bands, not a line per fault
    assert charts.episode_bands(SOAK) == [
        {"index": 1, "kind": "kill", "start": 10.0, "end": 14.5, "outcome": "ok", "worst": False},
        {"index": 2, "kind": "partition", "start": 30.0, "end": 35.0, "outcome": "not recovered", "worst": True}]
    w = charts.worst_episode_window(SOAK)
    assert (w["lo"], w["hi"], w["group"], w["start"]) == (5461, 16383, "slots 5461-16383", 28.0)
    assert w["end"] == 30.0 + 7.0 and w["episode"]["outcome"] == "not recovered"  # heal + 2 s
    assert charts.worst_episode_window({**SOAK, "measurements": {**SOAK["measurements"], "worst_episode": None}}) is None
    from redis.crc import key_slot
    keys = {slot: next(f"k{i}" for i in range(10000) if key_slot(f"k{i}".encode()) // 5461 == slot) for slot in (0, 1)}
    history(tmp_path, [(1, "write", keys[i % 2], 25 + i / 10, "ok", 25 + i / 10 + 0.001) for i in range(100)])
    made = {c.name: c for c in charts.write(tmp_path, SOAK)}
    assert "worst-episode" in made and "#2, partition of redis-2" in made["worst-episode"].title
    assert "failover" not in made  # the single-fault zoom is master-kill's
