"""Docker images for the docker backend, built locally (there is no registry to pull from):
``debootstrap --variant=minbase`` of a Debian release (the machine's own by default) from the
mirror in its apt sources, with the server packages included, then ``docker import``, tagged
after the server version actually installed (``chaos/redis:7.0``, ``chaos/valkey:9.1``,
``chaos/mariadb:11.8``) and labelled with server, version and release."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chaos.errors import ChaosError
from chaos.servers import FAMILIES, minor, package_version, upstream_version


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


def build_image(kind: str, say: Callable[[str], None], mirror: str | None = None,
                release: str | None = None) -> tuple[str, float]:
    """Build the image of ``kind`` (redis, valkey, mariadb, mysql) from Debian ``release``
    (default: this machine's; sid for Oracle MySQL); tagged after the server version actually
    installed. Returns (tag, seconds)."""
    if kind == "mysql" and release in ("bookworm", "trixie"):  # the spelling of MariaDB images until now
        say(f"note: `chaos images build mysql` now builds Oracle MySQL (Debian sid only); building MariaDB from "
            f"{release} as `chaos images build mariadb --release {release}` does")
        kind = "mariadb"
    family = FAMILIES.get(kind)
    if family is None:
        raise ChaosError(f"no image for {kind!r}; images: {', '.join(FAMILIES)}")
    if release is None and family.name == "mysql":
        release = "sid"  # the only Debian release with Oracle MySQL
    for tool, package in (("debootstrap", "debootstrap"), ("docker", "docker.io")):
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            raise ChaosError(f"{tool} is not installed; install it with `apt-get install -y {package}`")
    if os.geteuid() != 0:
        raise ChaosError("building an image needs root (debootstrap); run `sudo chaos images build " + kind + "`")
    from chaos.backends.docker import DockerBackend

    DockerBackend(Path(".")).client  # noqa: B018  (a clear error when the engine is not running)
    mirror = mirror or debian_mirror()
    suite = release or debian_suite()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-rootfs-", dir="/var/tmp") as root:
        say(f"debootstrap {suite} from {mirror or 'debootstrap’s default mirror'} with "
            f"{', '.join(family.packages)} (about 40 s)")
        run = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(family.packages)}", suite,
                              root, *([mirror] if mirror else [])], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ChaosError(f"debootstrap of {suite} failed: {last[0]}")
        installed = package_version(Path(root, "var/lib/dpkg/status").read_text(), family.packages[0])
        if installed is None:
            raise ChaosError(f"{family.packages[0]} did not get installed in the {suite} root")
        version = upstream_version(installed)
        for directory in family.dirs:
            Path(root, directory).mkdir(parents=True, exist_ok=True)
        tag = f"{family.repo}:{minor(version)}"
        say(f"{family.packages[0]} {installed} installed; importing it as {tag}")
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        labels = f"LABEL chaos.server={family.name} chaos.version={version} chaos.release={suite}"
        imported = subprocess.run(["docker", "import", "-c", labels, "-c", f'CMD ["{family.binary}"]', "-", tag],
                                  stdin=tar.stdout, capture_output=True, text=True, check=False)
        tar.wait()
        if imported.returncode != 0:
            raise ChaosError(f"docker import failed: {imported.stderr.strip()}")
    return tag, time.monotonic() - started


def list_images() -> list[dict[str, str]]:
    """Every image the harness built: tag, server, version, Debian release, size, age."""
    from chaos.backends.docker import DockerBackend

    client = DockerBackend(Path(".")).client
    rows = []
    for family in FAMILIES.values():
        for img in client.images.list(name=family.repo):
            labels = img.attrs.get("Config", {}).get("Labels") or {}
            created = img.attrs.get("Created", "")
            for tag in img.tags:
                rows.append({"image": tag, "server": labels.get("chaos.server", family.name),
                             "version": labels.get("chaos.version", tag.rpartition(":")[2]),
                             "release": labels.get("chaos.release", "?"),
                             "size": f"{img.attrs.get('Size', 0) / 1e6:.0f} MB", "age": _age(created)})
    return sorted(rows, key=lambda r: r["image"])


def _age(created: str) -> str:
    import datetime as dt

    try:  # "2026-11-29T19:02:11.123456789Z": seconds are enough
        when = dt.datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return "?"
    seconds = (dt.datetime.now(dt.UTC) - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def push_images(registry: str, say: Callable[[str], None], only: str | None = None) -> list[str]:
    """Tag every image `chaos images build` made (or ``only`` one) as ``REGISTRY[/PREFIX]/<server>:<version>``
    and push it (its labels travel with it); returns the references pushed."""
    import docker

    from chaos.backends.docker import DockerBackend

    client = DockerBackend(Path(".")).client
    registry = registry.rstrip("/")
    prefix = registry if "/" in registry else f"{registry}/chaos"
    pushed = []
    for row in list_images():
        source = row["image"]
        if only and source != only:
            continue
        name, _, tag = source.partition("/")[2].partition(":")
        target = f"{prefix}/{name}"
        client.images.get(source).tag(target, tag)
        say(f"pushing {source} as {target}:{tag}")
        try:
            for event in client.api.push(target, tag=tag, stream=True, decode=True):
                if "error" in event:
                    raise ChaosError(f"pushing {target}:{tag} failed: {event['error']}")
        except docker.errors.APIError as exc:
            raise ChaosError(f"pushing {target}:{tag} failed ({exc.explanation or exc}); is the registry at "
                             f"{registry.split('/')[0]} up?") from None
        pushed.append(f"{target}:{tag}")
    if not pushed:
        raise ChaosError(f"no image {only or 'built'} to push; build one with `chaos images build redis`")
    return pushed


def registry_catalog(registry: str, timeout: float = 5.0) -> list[dict[str, str]]:
    """The repositories and tags of a registry (its HTTP API v2: ``/v2/_catalog``, ``/v2/<name>/tags/list``);
    plain HTTP on a loopback registry, as Docker itself allows, HTTPS elsewhere."""
    import ipaddress
    import json
    import urllib.error
    import urllib.request

    host = registry.split("/")[0]
    try:
        loopback = ipaddress.ip_address(host.rsplit(":", 1)[0].strip("[]")).is_loopback
    except ValueError:
        loopback = host.split(":")[0] == "localhost"
    base = f"{'http' if loopback else 'https'}://{host}/v2"

    def get(path: str) -> dict:
        try:
            with urllib.request.urlopen(base + path, timeout=timeout) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChaosError(f"the registry at {host} does not answer ({reason}); is it running?") from None

    rows = []
    for repository in get("/_catalog").get("repositories") or []:
        for tag in get(f"/{repository}/tags/list").get("tags") or []:
            rows.append({"image": f"{host}/{repository}:{tag}", "repository": repository, "tag": tag})
    return rows
