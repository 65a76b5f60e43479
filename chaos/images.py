"""Docker images for the docker backend, built locally (there is no registry to pull from):
``debootstrap --variant=minbase`` of the machine's own Debian release from the mirror in its apt
sources, with the server packages included, then ``docker import``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chaos.backends.docker import IMAGES
from chaos.errors import ChaosError

PACKAGES = {"redis": ["redis-server", "redis-tools"], "mysql": ["mariadb-server"]}
COMMANDS = {"redis": "redis-server", "mysql": "mariadbd"}


def debian_mirror(paths: list[Path] | None = None) -> str | None:
    """The Debian mirror of this machine's apt sources (deb822 or one-line format), or None when
    they name none (debootstrap then uses its own default)."""
    texts = []
    if paths is None:
        paths = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in paths:
        try:
            texts.append(path.read_text())
        except OSError:
            continue
    for text in texts:
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            url = match.group(1)
            if re.search(r"/debian/?$", url):
                return url.rstrip("/")
    return None


def debian_suite() -> str:
    try:
        release = Path("/etc/os-release").read_text()
    except OSError:
        return "bookworm"
    match = re.search(r"^VERSION_CODENAME=(\w+)", release, re.M)
    return match.group(1) if match else "bookworm"


def build_image(kind: str, say: Callable[[str], None], mirror: str | None = None) -> float:
    """Build ``IMAGES[kind]``; returns the seconds it took."""
    if kind not in IMAGES:
        raise ChaosError(f"no image for {kind!r}; images: {', '.join(IMAGES)}")
    for tool, package in (("debootstrap", "debootstrap"), ("docker", "docker.io")):
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            raise ChaosError(f"{tool} is not installed; install it with `apt-get install -y {package}`")
    if os.geteuid() != 0:
        raise ChaosError("building an image needs root (debootstrap); run `sudo chaos images build " + kind + "`")
    from chaos.backends.docker import DockerBackend

    DockerBackend(Path(".")).client  # noqa: B018  (a clear error when the engine is not running)
    mirror = mirror or debian_mirror()
    suite = debian_suite()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-rootfs-", dir="/var/tmp") as root:
        say(f"debootstrap {suite} from {mirror or 'debootstrap’s default mirror'} with "
            f"{', '.join(PACKAGES[kind])} (about 30 s)")
        run = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES[kind])}", suite,
                              root, *([mirror] if mirror else [])], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ChaosError(f"debootstrap failed: {last[0]}")
        say(f"importing it as {IMAGES[kind]}")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-c", f'CMD ["{COMMANDS[kind]}"]', "-", IMAGES[kind]],
                                  stdin=tar.stdout, capture_output=True, text=True, check=False)
        tar.wait()
        if imported.returncode != 0:
            raise ChaosError(f"docker import failed: {imported.stderr.strip()}")
    return time.monotonic() - started


def list_images() -> list[tuple[str, str]]:
    """(image, status) for every image the harness knows."""
    from chaos.backends.docker import DockerBackend

    client = DockerBackend(Path(".")).client
    import docker

    out = []
    for kind, image in IMAGES.items():
        try:
            img = client.images.get(image)
            out.append((image, f"present, {img.attrs.get('Size', 0) / 1e6:.0f} MB ({kind})"))
        except docker.errors.ImageNotFound:
            out.append((image, f"missing: chaos images build {kind}"))
    return out
