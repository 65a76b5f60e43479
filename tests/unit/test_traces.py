"""A fault kind that leaves another trace in the system registers a TraceKind, and `chaos down`
cleans it, from state.json or, when that is gone, by the harness's mark alone."""

from pathlib import Path

import pytest

from chaos import traces
from chaos.down import down
from chaos.state import StateDir


@pytest.fixture
def marker_kind(tmp_path):
    """Files named chaos-mark-* in a directory stand for a trace (a qdisc, a cgroup, ...)."""
    where = tmp_path / "system"
    where.mkdir()
    kind = traces.register(traces.TraceKind(
        "marker file", "markers", find=lambda state: sorted(str(p) for p in where.glob(f"chaos-mark-{state.scope}-*")),
        remove=lambda item: Path(item).unlink(missing_ok=True), describe=lambda item: Path(item).name))
    yield kind, where
    traces._KINDS.pop(kind.name)


def test_down_removes_what_state_json_recorded(tmp_path, marker_kind):
    kind, where = marker_kind
    state = StateDir(tmp_path / "state")
    item = str(where / f"chaos-mark-{state.scope}-1")
    kind.record(state, [item])  # recorded before it exists, as a fault does
    Path(item).write_text("")
    said = []
    down(state, said.append)
    assert not Path(item).exists() and kind.recorded(state) == []
    assert any("removed 1 marker file(s)" in line for line in said), said


def test_down_finds_traces_by_their_mark_when_state_json_is_damaged(tmp_path, marker_kind):
    kind, where = marker_kind
    state = StateDir(tmp_path / "state")
    state.ensure()
    state.file.write_text("{not json")
    mine, other = where / f"chaos-mark-{state.scope}-7", where / "chaos-mark-someone-else-1"
    mine.write_text("")
    other.write_text("")
    said = []
    down(state, said.append)
    assert not mine.exists() and other.exists()  # only what carries this state dir's mark
    assert any(f"removed leftover marker file {mine.name}" in line for line in said), said
