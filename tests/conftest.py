import shutil

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.state import StateDir


@pytest.fixture
def state(tmp_path) -> StateDir:
    return StateDir(tmp_path / "state")


def chaos(state: StateDir, *args: str, env: dict[str, str] | None = None):
    """``chaos --state-dir STATE ARGS...`` in this process; the click Result."""
    return CliRunner().invoke(cli, ["--state-dir", str(state.path), *args], env=env)


@pytest.fixture
def torn_down(state):
    """The state dir, with `chaos down` after the test whatever happened in it."""
    yield state
    chaos(state, "down")


def pytest_collection_modifyitems(config, items):
    """Integration tests need real servers; fail loudly (not skip) in CI when one is missing."""
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def require(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        pytest.fail(f"{binary} is not installed; run ./scripts/setup")
    return path
