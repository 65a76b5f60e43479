"""Which server a topology runs: Redis or Valkey for a cluster, MariaDB or Oracle MySQL for
replication, and which version (``--server redis:8.0|valkey:9.1|mariadb:11.8|mysql:9.7``).

Docker backend: the image ``chaos/<server>:<major.minor>`` built by ``chaos images build``
(without a version: the newest such image present). Process backend: the binary installed on
this machine, checked against the version asked for. The pure parts (parsing names, Debian
versions, ``--version`` output) are unit-tested on literal text."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Any

from chaos.binaries import find_binary
from chaos.errors import ChaosError, MissingBinary


@dataclass(frozen=True)
class Family:
    name: str  # redis | valkey | mariadb | mysql
    kind: str  # the topology kind it serves: redis | mysql
    packages: tuple[str, ...]  # Debian packages of an image
    binary: str  # the server's executable
    cli: str | None = None
    dirs: tuple[str, ...] = ()  # directories the server expects in its image (the official image's)

    @property
    def repo(self) -> str:
        return f"chaos/{self.name}"


FAMILIES = {
    "redis": Family("redis", "redis", ("redis-server", "redis-tools"), "redis-server", "redis-cli"),
    "valkey": Family("valkey", "redis", ("valkey-server", "valkey-tools"), "valkey-server", "valkey-cli"),
    "mariadb": Family("mariadb", "mysql", ("mariadb-server",), "mariadbd"),
    # Oracle MySQL: Debian has it in sid only (it needs sid's libc: on bookworm it runs in a container)
    # --secure-file-priv defaults to /var/lib/mysql-files (mysqld aborts without it), as in the official image
    "mysql": Family("mysql", "mysql", ("mysql-server-core", "mysql-client-core"), "mysqld",
                    dirs=("var/lib/mysql-files", "var/run/mysqld")),
}
DEFAULT_FAMILY = {"redis": "redis", "mysql": "mariadb"}
# Where Debian's archive has each version (measured): named in error messages, never required
RELEASE_OF = {("redis", "7.0"): "bookworm", ("redis", "8.0"): "trixie", ("valkey", "8.1"): "trixie",
              ("valkey", "9.1"): "sid", ("mariadb", "10.11"): "bookworm", ("mariadb", "11.8"): "trixie",
              ("mysql", "9.7"): "sid"}


@dataclass(frozen=True)
class Server:
    family: Family
    version: str | None  # "9.1" (major.minor), or None: any

    @property
    def name(self) -> str:
        return self.family.name

    def __str__(self) -> str:
        return f"{self.name}:{self.version}" if self.version else self.name

    @property
    def image(self) -> str | None:
        return f"{self.family.repo}:{self.version}" if self.version else None

    def build_hint(self) -> str:
        release = RELEASE_OF.get((self.name, self.version or ""))
        return f"chaos images build {self.name}" + (f" --release {release}" if release else "")


def server_kind(text: str) -> str:
    """The topology kind a ``--server`` text is for (redis or mysql); redis when unknown
    (:func:`parse_server` then names the choices)."""
    family = FAMILIES.get(text.partition(":")[0].lower())
    return family.kind if family else "redis"


def parse_server(text: str | None, kind: str) -> Server:
    """``redis:8.0`` / ``valkey`` / ``mariadb:11.8`` / ``mysql:9.7`` (None: the kind's default
    family, any version); refuses a server of the wrong kind (``--server mariadb`` for a cluster)."""
    if not text:
        return Server(FAMILIES[DEFAULT_FAMILY[kind]], None)
    name, _, version = text.strip().lower().partition(":")
    family = FAMILIES.get(name)
    if family is None or family.kind != kind:
        choices = ", ".join(f.name for f in FAMILIES.values() if f.kind == kind)
        raise ChaosError(f"--server {text}: not a server for this topology; use {choices} (optionally :MAJOR.MINOR)")
    if version and not re.fullmatch(r"\d+(\.\d+)?", version):
        example = "9.1" if name == "valkey" else "8.0"
        raise ChaosError(f"--server {text}: the version must be MAJOR.MINOR, e.g. {name}:{example}")
    return Server(family, version or None)


def upstream_version(debian_version: str) -> str:
    """``5:7.0.15-1~deb12u1`` → ``7.0.15``; ``1:11.8.3-1`` → ``11.8.3`` (epoch and Debian
    revision dropped, as well as ``+dfsg`` style suffixes)."""
    version = debian_version.split(":", 1)[-1]
    version = version.rsplit("-", 1)[0] if "-" in version else version
    return re.split(r"[+~]", version)[0]


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def package_version(dpkg_status: str, package: str) -> str | None:
    """The installed version of ``package`` in a ``/var/lib/dpkg/status`` text."""
    for block in dpkg_status.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", block, re.M))
        if fields.get("Package") == package and "installed" in fields.get("Status", ""):
            return fields.get("Version")
    return None


def version_from_output(text: str) -> str | None:
    """``Redis server v=7.0.15 sha=...`` / ``Valkey server v=9.1.2 ...`` / ``mariadbd  Ver
    11.8.3-MariaDB-1 for debian-linux-gnu`` → the version."""
    match = re.search(r"\bv=(\d+\.\d+\.\d+)", text) or re.search(r"\bVer (\d+\.\d+\.\d+)", text)
    return match.group(1) if match else None


def version_matches(found: str, wanted: str | None) -> bool:
    return wanted is None or found == wanted or found.startswith(wanted + ".")


def local_binary(server: Server) -> tuple[str, str]:
    """(path, exact version) of the server installed on this machine, or a one-line error
    saying what to install or which image to build instead."""
    try:
        path = find_binary(server.family.binary)
    except MissingBinary:
        raise MissingBinary(f"{server.family.binary} is not installed here; install it with `apt-get install -y "
                            f"{server.family.packages[0]}`, or use --backend docker after `{server.build_hint()}`"
                            ) from None
    run = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    found = version_from_output(run.stdout + run.stderr) or "?"
    if server.name == "mysql" and "mariadb" in (run.stdout + run.stderr).lower():  # Debian's mysqld → mariadbd
        raise MissingBinary(f"--server {server}: the mysqld here is MariaDB's ({found}), not Oracle MySQL; use "
                            f"--backend docker after `{server.build_hint()}`, or --server mariadb")
    if not version_matches(found, server.version):
        raise MissingBinary(f"--server {server}: this machine has {server.name} {found}, not {server.version}; use "
                            f"--backend docker after `{server.build_hint()}`")
    return path, found


def image_version(tag: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", tag.rpartition(":")[2]))


def docker_image(client: Any, server: Server) -> str:
    """The image tag of ``server``: the one asked for, or the newest ``chaos/<name>:*`` present."""
    import docker

    if server.image:
        try:
            client.images.get(server.image)
        except docker.errors.ImageNotFound:
            raise ChaosError(f"the Docker image {server.image} is missing; build it with `{server.build_hint()}` "
                             "(debootstrap from the Debian archive, about 40 s)") from None
        return server.image
    tags = [t for img in client.images.list(name=server.family.repo) for t in img.tags
            if t.startswith(server.family.repo + ":")]
    if not tags:
        raise ChaosError(f"no {server.family.repo} image is built; build one with `{server.build_hint()}` "
                         "(debootstrap from the Debian archive, about 40 s)")
    return max(tags, key=image_version)
