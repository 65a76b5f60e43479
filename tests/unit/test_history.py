import json

import pytest

from chaos.history import HistoryError, HistoryWriter, merge_histories, pair, read_history
from tests.unit.histories import h


def test_pair_matches_completions_to_invokes_per_process():
    ops = h(("invoke", 1, "write", "a", "1", 0.0), ("invoke", 2, "write", "b", "2", 0.1),
            ("ok", 2, "write", "b", "2", 0.2), ("info", "nemesis", "kill", None, "n1", 0.25),
            ("fail", 1, "write", "a", "1", 0.3), ("invoke", 1, "read", "b", None, 0.4))
    pairs = list(pair(ops))
    assert [(i.key, c.type if c else None) for i, c in pairs] == [
        ("b", "ok"), (None, "info"), ("a", "fail"), ("b", None)]
    assert pairs[1][0] is pairs[1][1]  # nemesis passes through


def test_two_ops_in_flight_on_one_process_is_an_error():
    ops = h(("invoke", 1, "write", "a", "1", 0.0), ("invoke", 1, "write", "b", "2", 0.1))
    with pytest.raises(HistoryError, match="still in flight"):
        list(pair(ops))


def test_completion_without_invoke_is_an_error():
    with pytest.raises(HistoryError, match="never invoked"):
        list(pair(h(("ok", 1, "write", "a", "1", 0.0))))


def test_writer_reader_roundtrip_and_merge(tmp_path):
    t0 = 100.0
    with HistoryWriter(tmp_path / "history-0.jsonl", t0, wall0=1_700_000_000.0) as w:
        w.record("invoke", 1, "write", "a", "1", at=101.0)
        w.record("ok", 1, "write", "a", "1", node="127.0.0.11:7001", at=101.5)
    with HistoryWriter(tmp_path / "history-1.jsonl", t0, wall0=1_700_000_000.0) as w:
        w.record("invoke", "nemesis", "kill", None, "redis-2", at=101.2)
    (tmp_path / "history-1.jsonl").open("a").write('{"index": 9, "ti')  # torn last line
    with HistoryWriter(tmp_path / "history-2.jsonl", t0, wall0=1_700_000_000.0) as w:
        w.record("invoke", 2, "write", "b", "2", at=101.1)
    (tmp_path / "history-2.jsonl").write_text((tmp_path / "history-2.jsonl").read_text()[:40])  # torn after its time
    ops = list(read_history(tmp_path / "history-0.jsonl"))
    assert ops[1].time == 1.5 and ops[1].wall == 1_700_000_001.5 and ops[1].node == "127.0.0.11:7001"
    n = merge_histories(sorted(tmp_path.glob("history-*.jsonl")), tmp_path / "history.jsonl")
    merged = list(read_history(tmp_path / "history.jsonl"))
    assert n == 3
    assert [(o.index, o.process, o.time) for o in merged] == [(0, 1, 1.0), (1, "nemesis", 1.2), (2, 1, 1.5)]
    # the compressed history of schema 3 holds the same records, and a run directory finds either
    from chaos.history import HISTORY_FILE, history_path

    assert history_path(tmp_path) == tmp_path / "history.jsonl"  # an older run: plain only
    assert merge_histories(sorted(tmp_path.glob("history-*.jsonl")), tmp_path / HISTORY_FILE) == 3
    assert history_path(tmp_path) == tmp_path / HISTORY_FILE
    assert list(read_history(tmp_path)) == merged
    assert (tmp_path / HISTORY_FILE).read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # the zstd frame magic
    (tmp_path / "history.jsonl").unlink()
    assert list(read_history(tmp_path / "history.jsonl")) == merged  # the old name finds the new file


def test_a_kept_final_read_is_served_back_in_step_or_from_the_whole_file(tmp_path):
    from chaos.engine import FinalReadLog, StoredFinalRead

    live = {"a": "1", "b": None, "c": "3"}
    path = tmp_path / "final-read.jsonl"
    with FinalReadLog(path, lambda keys: [live[k] for k in keys]) as keep:
        assert keep(["a", "b"]) == ["1", None]
        assert keep(["c"]) == ["3"]
    assert path.read_text() == '["a","1"]\n["b",null]\n["c","3"]\n'
    with StoredFinalRead(path) as stored:  # asked in the same order: read in step
        assert stored(["a", "b"]) == ["1", None] and stored(["c"]) == ["3"]
        assert stored._all is None
    with StoredFinalRead(path) as stored:  # another order (an older run's file): looked up
        assert stored(["c", "a"]) == ["3", "1"] and stored(["zz", "b"]) == [None, None]
        assert stored._all is not None


def test_a_final_read_that_failed_is_not_kept(tmp_path):
    import pytest

    from chaos.engine import FinalReadLog, StoredFinalRead
    from chaos.errors import ChaosError

    def read(keys):
        if "b" in keys:
            raise ChaosError("the cluster never answered")
        return ["1" for _ in keys]

    path = tmp_path / "final-read.jsonl"
    with FinalReadLog(path, read) as keep:
        assert keep(["a"]) == ["1"]
        with pytest.raises(ChaosError):
            keep(["b"])
    assert not path.exists()  # analysed again, it would have counted "b" as lost
    with pytest.raises(ChaosError, match="only a finished run"):
        StoredFinalRead(path)


def test_a_packed_run_directory_reads_as_the_plain_one(tmp_path):
    """After the reports, the timeline and the final reads are compressed; every reader takes
    the packed files through the plain names, and a crash mid-pack leaves the plain file whole."""
    from chaos.engine import FinalReadLog, StoredFinalRead
    from chaos.engine.rundir import pack, read_timeline
    from chaos.history import records

    samples = [{"source": "probe", "time": t / 100, "node": "redis-1", "role": "master"} for t in range(3000)]
    (tmp_path / "timeline.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    with FinalReadLog(tmp_path / "final-read.jsonl", lambda keys: [k.upper() for k in keys]) as keep:
        keep(["a", "b"])
    plain = (tmp_path / "timeline.jsonl").stat().st_size
    (tmp_path / "timeline.jsonl.zst.partial").write_bytes(b"torn")  # an earlier pack that crashed
    pack(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final-read.jsonl.zst", "timeline.jsonl.zst"]
    assert (tmp_path / "timeline.jsonl.zst").stat().st_size * 10 < plain
    assert list(read_timeline(tmp_path / "timeline.jsonl")) == samples
    assert list(records(tmp_path / "final-read.jsonl")) == [["a", "A"], ["b", "B"]]
    with StoredFinalRead(tmp_path / "final-read.jsonl") as stored:
        assert stored(["a", "b"]) == ["A", "B"] and stored._all is None
    pack(tmp_path)  # nothing plain left: nothing to do
    assert (tmp_path / "timeline.jsonl.zst").exists()
