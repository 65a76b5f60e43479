import shutil

import pytest

from chaos.state import StateDir


@pytest.fixture
def state(tmp_path) -> StateDir:
    return StateDir(tmp_path / "state")


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
