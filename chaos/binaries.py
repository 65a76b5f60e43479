"""Finding the server binaries installed on this machine (the process backend runs them; the
server catalogue checks their versions)."""

from __future__ import annotations

import os
import shutil

from chaos.errors import MissingBinary

INSTALL_HINTS = {
    "redis-server": "apt-get install -y redis-server",
    "redis-cli": "apt-get install -y redis-tools",
    "mariadbd": "apt-get install -y mariadb-server",
    "mariadb-install-db": "apt-get install -y mariadb-server",
}
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_binary(name: str) -> str:
    """Absolute path of a server binary, or a one-line error saying how to install it."""
    found = shutil.which(name)
    if not found and os.sep not in name:
        # sbin dirs are often missing from PATH for non-root users; CHAOS_SBIN_DIRS overrides them
        extra = os.environ.get("CHAOS_SBIN_DIRS", os.pathsep.join(EXTRA_BIN_DIRS))
        if extra:
            found = shutil.which(name, path=extra)
    if not found:
        hint = INSTALL_HINTS.get(name, f"install {name}")
        raise MissingBinary(f"{name} is not installed (not found on PATH); install it with `{hint}`")
    return found
