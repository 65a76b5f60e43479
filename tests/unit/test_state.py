import pytest

from chaos.errors import StateDirError
from chaos.state import StateDir


def test_roundtrip_and_drop(state):
    assert state.load() == {"topologies": {}, "rules": [], "processes": []}
    state.put_topology("redis-cluster", {"nodes": [{"pid": 12}]})
    assert StateDir(state.path).topology("redis-cluster") == {"nodes": [{"pid": 12}]}
    state.drop_topology("redis-cluster")
    assert state.topology("redis-cluster") is None


def test_state_dir_under_a_file_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateDirError, match="not writable.*--state-dir"):
        StateDir(blocker / "sub").ensure()


def test_corrupt_state_file_is_reported(state):
    state.ensure()
    state.file.write_text("{not json")
    with pytest.raises(StateDirError, match="cannot read"):
        state.load()


def test_processes_are_recorded_updated_and_forgotten(state):
    state.record_process({"key": "run1:load", "kind": "load", "pid": None, "controller": 42})
    state.update_process("run1:load", pid=4242)
    assert StateDir(state.path).load()["processes"] == [
        {"key": "run1:load", "kind": "load", "pid": 4242, "controller": 42}]
    state.forget_process("run1:load")
    assert state.load()["processes"] == []


def test_a_state_file_that_is_not_an_object_is_damaged(state):
    state.ensure()
    state.file.write_text("[]")
    with pytest.raises(StateDirError, match="damaged"):
        state.load()


def test_scope_is_stable_per_directory(tmp_path):
    assert StateDir(tmp_path / "a").scope == StateDir(tmp_path / "a").scope != StateDir(tmp_path / "b").scope
    assert StateDir(tmp_path / "a").owner_env() == {"CHAOS_OWNER": str(tmp_path / "a")}
