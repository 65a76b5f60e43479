import pytest

from chaos.errors import StateDirError
from chaos.state import StateDir


def test_roundtrip_and_drop(state):
    assert state.load() == {"topologies": {}, "rules": []}
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
