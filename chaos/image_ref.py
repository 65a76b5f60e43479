"""A user's own image (``--image REF``): any image that contains the server's binary, from the
local engine or pulled from its registry (plain HTTP on loopback registries, as Docker itself
allows), inspected before anything starts: which server binary it holds, its version (from the
binary), its digest, and the runbook's own settings it carries (the config file and arguments of
its ``CMD``), which the harness keeps and adds to only what it needs.

The parsing is pure and unit-tested on literal text; :func:`inspect_image` talks to the engine."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.errors import ChaosError

# the binaries a kind's image may hold, in the order they are looked for
BINARIES = {"redis": ("redis-server", "valkey-server"), "mysql": ("mariadbd", "mysqld")}
# the oldest major.minor of each family the harness knows how to drive
OLDEST = {"redis": (7, 0), "valkey": (8, 0), "mariadb": (10, 6), "mysql": (8, 4)}
PROBE = ("for b in {binaries}; do p=$(command -v $b 2>/dev/null) || continue; echo \"chaos-binary $b $p\"; "
         "$p --version 2>&1 | head -5; break; done")


@dataclass
class ImageInfo:
    ref: str
    id: str = ""
    digests: list[str] = field(default_factory=list)  # registry digests (repo@sha256:...), when pulled or pushed
    family: str = ""  # redis | valkey | mariadb | mysql
    binary: str = ""  # the executable's name, as found on the image's PATH
    version: str = ""  # from the binary's --version
    conf: str | None = None  # the config file the image's CMD gives the server (kept: the harness includes it)
    args: list[str] = field(default_factory=list)  # the CMD's other arguments to the server (kept)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ImageInfo | None:
        return cls(**data) if data else None


def parse_probe(output: str) -> tuple[str, str, str] | None:
    """The probe's output → (binary name, family, version), or None when no binary was found."""
    match = re.search(r"^chaos-binary (\S+) (\S+)\s*$", output, re.M)
    if not match:
        return None
    binary = match.group(1)
    after = output[match.end():]
    version = re.search(r"\bv=(\d+\.\d+\.\d+)", after) or re.search(r"\bVer (\d+\.\d+\.\d+)", after)
    found = version.group(1) if version else ""
    if binary == "valkey-server" or "valkey" in after.lower():
        family = "valkey"
    elif binary.startswith("redis"):
        family = "redis"
    else:
        family = "mariadb" if "mariadb" in after.lower() or binary == "mariadbd" else "mysql"
    return binary, family, found


def known_version(family: str, version: str) -> bool:
    numbers = tuple(int(x) for x in version.split(".")[:2]) if re.match(r"\d+\.\d+", version) else None
    return numbers is not None and numbers >= OLDEST[family]


def command_settings(cmd: list[str] | None, binary: str) -> tuple[str | None, list[str]]:
    """The image's CMD (``["redis-server", "/usr/local/etc/redis/redis.conf", "--appendonly",
    "yes"]``) → (its config file, its other arguments), when it runs the server binary."""
    if not cmd:
        return None, []
    if len(cmd) == 1 and " " in cmd[0]:  # the shell form
        cmd = shlex.split(cmd[0])
    if cmd[0].rsplit("/", 1)[-1] not in (binary, "redis-server", "valkey-server", "mariadbd", "mysqld"):
        return None, []
    for arg in cmd[1:]:  # mysqld's option file, given as the image's own
        match = re.fullmatch(r"--defaults(?:-extra)?-file=(\S+)", arg)
        if match:
            return match.group(1), [a for a in cmd[1:] if a != arg]
    conf = next((a for a in cmd[1:] if not a.startswith("-") and re.search(r"\.(conf|cnf)$", a)), None)
    return conf, [a for a in cmd[1:] if a != conf]


def redis_lines(args: list[str]) -> list[str]:
    """``--appendonly yes --save ""`` → ``appendonly yes``, ``save ""`` (redis.conf lines)."""
    lines: list[str] = []
    for arg in args:
        if arg.startswith("--"):
            lines.append(arg[2:])
        elif lines:
            lines[-1] += " " + (arg if arg else '""')
    return lines


def inspect_image(client: Any, ref: str, kind: str, say: Callable[[str], None]) -> ImageInfo:
    """The image ``ref`` (pulled when missing, with progress) and what it holds; a one-line
    error when it cannot be had, holds no server binary of ``kind``, or a version the harness
    does not know how to drive."""
    import docker

    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        image = pull(client, ref, say)
    except docker.errors.APIError as exc:
        raise ChaosError(f"--image {ref}: {exc.explanation or exc}") from None
    probe = PROBE.format(binaries=" ".join(BINARIES[kind]))
    try:
        raw = client.containers.run(image.id, entrypoint=["sh", "-c", probe], remove=True, network_mode="none",
                                    stdout=True, stderr=True)
    except docker.errors.ContainerError as exc:
        raise ChaosError(f"--image {ref}: its shell could not look for {' or '.join(BINARIES[kind])} "
                         f"({str(exc)[:200]}); the harness needs sh in the image") from None
    except docker.errors.APIError as exc:
        raise ChaosError(f"--image {ref}: {exc.explanation or exc}") from None
    found = parse_probe(raw.decode(errors="replace"))
    if found is None:
        raise ChaosError(f"--image {ref} holds no {' or '.join(BINARIES[kind])} on its PATH; give an image of the "
                         "server (e.g. one built FROM chaos/" + ("redis:7.0" if kind == "redis" else "mariadb:10.11")
                         + ")")
    binary, family, version = found
    if not known_version(family, version):
        oldest = ".".join(map(str, OLDEST[family]))
        raise ChaosError(f"--image {ref}: {binary} {version or '(no version)'} is not a {family} version the harness "
                         f"knows how to drive ({family} {oldest} or newer)")
    config = image.attrs.get("Config") or {}
    conf, args = command_settings(config.get("Cmd"), binary)
    return ImageInfo(ref=ref, id=image.id, digests=list(image.attrs.get("RepoDigests") or []), family=family,
                     binary=binary, version=version, conf=conf, args=args)


def pull(client: Any, ref: str, say: Callable[[str], None]) -> Any:
    """``docker pull ref`` with a progress line per layer state; one-line errors."""
    import docker

    repository, tag = split_ref(ref)
    say(f"pulling {ref}")
    seen: set[tuple[str, str]] = set()
    try:
        for event in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise ChaosError(f"--image {ref}: the pull failed ({event['error']})")
            status, layer = event.get("status", ""), event.get("id", "")
            if status in ("Pull complete", "Already exists", "Digest") or status.startswith(("Digest", "Status")):
                if (layer, status) not in seen:
                    seen.add((layer, status))
                    say(f"  {layer + ': ' if layer else ''}{status}")
        return client.images.get(ref)
    except docker.errors.NotFound:
        raise ChaosError(f"--image {ref}: no such image in its registry; push it there, or build it here") from None
    except docker.errors.APIError as exc:
        raise ChaosError(f"--image {ref}: cannot pull it ({exc.explanation or exc}); is the registry up?") from None
    except docker.errors.DockerException as exc:
        raise ChaosError(f"--image {ref}: cannot pull it ({exc})") from None


def split_ref(ref: str) -> tuple[str, str]:
    """``127.0.0.1:5000/team/redis:7.0`` → ("127.0.0.1:5000/team/redis", "7.0"); no tag → latest."""
    if "@" in ref:
        repository, _, digest = ref.partition("@")
        return repository, digest
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = ref.rpartition(":")
        return repository, tag
    return ref, "latest"


def image_record(client: Any, ref: str, info: dict | None, harness_settings: list[str]) -> dict[str, Any]:
    """What result.json says of the image every node ran: reference, id and registry digests,
    the server found in it, what of the image's own settings was kept and what the harness set."""
    record: dict[str, Any] = {"ref": ref, "own": bool(info)}
    try:
        image = client.images.get(ref)
        record.update(id=image.id, digests=list(image.attrs.get("RepoDigests") or []))
    except Exception as exc:  # the record is a side output; the run goes on
        record["error"] = f"{type(exc).__name__}: {exc}"[:200]
    if info:
        record.update(binary=info.get("binary"), version=info.get("version"), kept_conf=info.get("conf"),
                      kept_args=info.get("args"), harness_added=harness_settings)
    return record
