"""The client view: the same fault through the client libraries applications use, with their
defaults (``--clients redis-py,ioredis@5``).

Each named client runs in a process of its own beside the recorder (a runner in
:mod:`loadgen.clients`: plain threads for Python, Node's event loop for Node; never gevent),
paced so it observes rather than loads, and writes the recorder's history format into its own
file of the run directory (``client-<label>.jsonl``, compressed at the end), so `chaos analyze`
re-judges it. Libraries are installed by name and pinned version into a cache the harness
manages (``chaos clients install|list``): PyPI for Python clients, npm for Node clients; never
vendored. What is measured of each history is :mod:`chaos.checkers.client_view`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import loadgen.clients as loadgen_clients
from chaos.errors import ChaosError

RUNNERS = Path(loadgen_clients.__file__).resolve().parent
CLIENT_FILE = "client-{label}.jsonl"  # a client's history while the run goes on (then .zst)
CLIENT_GLOB = "client-*.jsonl*"
CACHE_ENV = "CHAOS_CLIENTS_DIR"


@dataclass(frozen=True)
class Library:
    name: str  # as --clients names it
    ecosystem: str  # "pypi" | "npm"
    package: str
    runner: str  # its runner in loadgen/clients
    model: str  # how its workers run, for the report
    defaults: str  # what the library does by default on a dying node (from its source; measured by the run)
    family: str = "redis"  # the servers it talks to: "redis" or "mysql"
    # --client-profile vendor: the settings a cloud vendor recommends for it, and where it says so
    vendor: dict[str, Any] | None = None
    vendor_source: str = ""


LIBRARIES = {lib.name: lib for lib in (
    Library("redis-py", "pypi", "redis", "redis_py.py", "threads sharing one RedisCluster",
            "7.x: no socket or connect timeout, retries after connection errors; 8.x: 5 s timeouts, 10 retries",
            vendor={"socket_connect_timeout": 0.1, "socket_timeout": 2.0},
            vendor_source="Amazon ElastiCache, \"Configuring client-side and server-side timeouts\", the redis-py "
                          "sample: https://docs.aws.amazon.com/AmazonElastiCache/latest/red-ug/"
                          "BestPractices.Redis.Timeouts.html"),
    Library("valkey-glide", "pypi", "valkey-glide", "valkey_glide.py", "asyncio tasks sharing one GlideClusterClient",
            "250 ms request timeout, periodic topology checks"),
    Library("ioredis", "npm", "ioredis", "ioredis.js", "async loops sharing one Cluster",
            "no command timeout, offline queue on, retryDelayOnFailover 100 ms"),
    Library("node-redis", "npm", "redis", "node_redis.js", "async loops sharing one createCluster",
            "5 s connect timeout, commands queued while it reconnects"),
    Library("pymysql", "pypi", "PyMySQL", "pymysql_client.py", "threads, a connection each (reconnect on error)",
            "10 s connect timeout, no read or write timeout, no reconnect", family="mysql"),
)}


def cache_dir() -> Path:
    """Where installed client libraries are kept: ``$CHAOS_CLIENTS_DIR``, else the user's cache."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chaos" / "clients"


@dataclass(frozen=True)
class ClientSpec:
    """One entry of --clients: a library and the version asked for ("" = the newest)."""

    library: Library
    version: str

    @property
    def label(self) -> str:
        return f"{self.library.name}@{self.version}" if self.version else self.library.name

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "-", self.label.replace("@", "-"))

    @property
    def requirement(self) -> str:
        """What the package manager is asked for: ``redis==7.*``, ``ioredis@5``, ``redis``."""
        lib, v = self.library, self.version
        if lib.ecosystem == "npm":
            return f"{lib.package}@{v}" if v else lib.package
        if not v:
            return lib.package
        return f"{lib.package}=={v}" if v.count(".") >= 2 else f"{lib.package}=={v}.*"

    @property
    def home(self) -> Path:
        return cache_dir() / (self.slug if self.version else f"{self.slug}-latest")


def parse_clients(text: str | None, family: str | None = None) -> list[ClientSpec]:
    """``redis-py,ioredis@5`` → specs; one-line errors naming what is wrong and what exists.
    ``family`` ("redis", "mysql"): the scenario's servers; a library for the others is refused."""
    if not text:
        return []
    specs, seen = [], set()
    known = [n for n, lib in LIBRARIES.items() if family is None or lib.family == family]
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, version = item.partition("@")
        lib = LIBRARIES.get(name)
        if lib is not None and family is not None and lib.family != family:
            raise ChaosError(f"--clients: {name} is a {lib.family.replace('mysql', 'MySQL').replace('redis', 'Redis')} "
                             f"client; this scenario's clients: {', '.join(known)}")
        if lib is None:
            raise ChaosError(f"--clients: unknown client {name!r}; known: {', '.join(known)} "
                             "(each may carry @VERSION, e.g. redis-py@7)")
        if version and not re.fullmatch(r"\d+(\.\d+){0,2}", version):
            raise ChaosError(f"--clients: {item!r}: a version is MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH")
        spec = ClientSpec(lib, version)
        if spec.label in seen:
            raise ChaosError(f"--clients: {spec.label} is named twice")
        seen.add(spec.label)
        specs.append(spec)
    return specs


def installed_version(spec: ClientSpec) -> str | None:
    """The exact version installed for ``spec`` in the cache, or None."""
    try:
        return json.loads((spec.home / "installed.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _need(program: str, spec: ClientSpec, apt: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise ChaosError(f"{spec.label} needs {program} on the PATH; install it (apt install {apt}) or drop "
                         f"{spec.label} from --clients")
    return found


def install(spec: ClientSpec, say: Any = None) -> str:
    """Install ``spec`` into the cache unless it is there; its exact version. One-line errors."""
    version = installed_version(spec)
    if version is not None:
        return version
    lib = spec.library
    if lib.ecosystem == "npm":
        _need("node", spec, "nodejs")
    tmp = spec.home.with_name(spec.home.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    where = "PyPI" if lib.ecosystem == "pypi" else "npm"
    if say:
        say(f"installing {spec.label} ({where}: {spec.requirement}) into {cache_dir()}")
    if lib.ecosystem == "pypi":
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
               "--target", str(tmp / "lib"), spec.requirement]
    else:
        cmd = [_need("npm", spec, "npm"), "install", "--prefix", str(tmp), "--no-audit", "--no-fund",
               "--silent", "--no-save", spec.requirement]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ChaosError(f"installing {spec.label} from {where} took over 300 s; check the package index") from None
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        last = next((ln for ln in reversed((done.stderr or done.stdout).splitlines()) if ln.strip()), "no output")
        raise ChaosError(f"could not install {spec.label} from {where} ({spec.requirement}): {last.strip()[:200]}")
    version = _found_version(spec, tmp)
    if version is None:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ChaosError(f"{where} installed no {lib.package} for {spec.requirement}")
    (tmp / "installed.json").write_text(json.dumps({"client": lib.name, "package": lib.package, "version": version,
                                                    "requested": spec.requirement}) + "\n")
    shutil.rmtree(spec.home, ignore_errors=True)
    os.replace(tmp, spec.home)
    return version


def _found_version(spec: ClientSpec, home: Path) -> str | None:
    package = spec.library.package
    if spec.library.ecosystem == "npm":
        try:
            return json.loads((home / "node_modules" / package / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None
    dist = re.sub(r"[-_.]+", "_", package).lower()  # valkey-glide → valkey_glide-2.6.0.dist-info, PyMySQL → pymysql
    for info in (home / "lib").glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].rpartition("-")
        if re.sub(r"[-_.]+", "_", name).lower() == dist:
            return version
    return None


def installed() -> list[dict[str, Any]]:
    """Every client library in the cache: name, version, where."""
    out = []
    root = cache_dir()
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            info = json.loads((entry / "installed.json").read_text())
        except (OSError, ValueError):
            continue
        out.append({**info, "path": str(entry)})
    return out


# -- running them beside a run ---------------------------------------------------------------------
PROFILES = ("defaults", "vendor")


def settings_for(lib: Library, profile: str) -> dict[str, Any]:
    """What the runner passes to the library beyond its defaults: nothing, or (``vendor``) the
    vendor's recommendation when one is written down for it."""
    return dict(lib.vendor or {}) if profile == "vendor" else {}


@dataclass
class RunningClient:
    spec: ClientSpec
    version: str
    index: int
    history: Path
    proc: subprocess.Popen[str]
    stderr: Path
    started_t: float
    settings: dict[str, Any] = field(default_factory=dict)  # beyond the library's defaults (--client-profile)
    exit_code: int | None = None
    died_early: bool = False  # it exited on its own before the harness stopped it

    def record(self) -> dict[str, Any]:
        lib = self.spec.library
        return {"client": lib.name, "label": self.spec.label, "version": self.version,
                "profile": "vendor" if self.settings else "defaults", "settings": self.settings,
                "settings_source": lib.vendor_source if self.settings else None,
                "model": self.spec.library.model, "index": self.index, "history": self.history.name,
                "exit_code": self.exit_code, "died_early": self.died_early, "stderr": _tail(self.stderr)}


def _tail(path: Path, lines: int = 3) -> str | None:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    return "\n".join(text.splitlines()[-lines:])[:500] or None


@dataclass
class ClientFleet:
    """The client processes of one run: started after the recorder's load, stopped before it."""

    clients: list[RunningClient] = field(default_factory=list)
    sampler: Any = None  # the servers' side (chaos.observe.redis_stats), when the clients talk to Redis

    @classmethod
    def start(cls, specs: list[ClientSpec], run_dir: Path, run_id: str, t0: float, wall0: float,
              target: dict[str, Any], rate: float, workers: int, env: dict[str, str], say: Any,
              profile: str = "defaults") -> ClientFleet:
        """``target``: what the runners connect to (``{"seeds": [...]}``, or ``{"mysql": {...}}``);
        ``env``: the owner mark and the password variable (never an argument or a file)."""
        fleet = cls()
        try:
            for index, spec in enumerate(specs):
                version = install(spec, say)
                fleet.clients.append(_launch(spec, version, index, run_dir, run_id, t0, wall0, target, rate, workers,
                                             env, settings_for(spec.library, profile)))
            for client in fleet.clients:
                _await_ready(client)
        except BaseException:
            fleet.stop()
            raise
        say("client view: " + ", ".join(f"{c.spec.library.name} {c.version} ({workers} workers, {rate:g} ops/s"
                                        + (f"; {_kwargs(c.settings)}" if c.settings else "") + ")"
                                        for c in fleet.clients))
        if profile == "vendor":
            for c in fleet.clients:
                if not c.settings:
                    say(f"note: no vendor recommendation is written down for {c.spec.library.name}; it runs with its "
                        "defaults")
        return fleet

    def stop(self, timeout: float = 5.0) -> None:
        for c in self.clients:
            if c.proc.poll() is None:
                c.proc.send_signal(signal.SIGTERM)
            elif c.exit_code is None:
                c.died_early = True
        for c in self.clients:
            try:
                c.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait(5)
            if c.exit_code is None:
                c.exit_code = c.proc.returncode

    def records(self) -> list[dict[str, Any]]:
        return [c.record() for c in self.clients]


def _launch(spec: ClientSpec, version: str, index: int, run_dir: Path, run_id: str, t0: float, wall0: float,
            target: dict[str, Any], rate: float, workers: int, extra_env: dict[str, str],
            settings: dict[str, Any]) -> RunningClient:
    folder = run_dir / "clients"
    folder.mkdir(exist_ok=True)
    history = run_dir / CLIENT_FILE.format(label=spec.slug)
    spec_file = folder / f"{spec.slug}.spec.json"
    spec_file.write_text(json.dumps({**target, "run_id": run_id, "index": index, "t0": t0, "wall0": wall0,
                                     "rate": rate, "workers": workers, "history": str(history),
                                     "settings": settings, "parent": os.getpid()}, indent=1))
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    env.update(extra_env)
    runner = str(RUNNERS / spec.library.runner)
    if spec.library.ecosystem == "pypi":
        env["PYTHONPATH"] = str(spec.home / "lib")
        cmd = [sys.executable, "-S", runner, str(spec_file)]  # -S: none of the harness's own site-packages
    else:
        env["NODE_PATH"] = str(spec.home / "node_modules")
        cmd = [shutil.which("node") or "node", runner, str(spec_file)]
    stderr = folder / f"{spec.slug}.stderr"
    with open(stderr, "w") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                                cwd=str(folder), start_new_session=True)
    return RunningClient(spec, version, index, history, proc, stderr, time.monotonic(), settings)


def _kwargs(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items())


def _await_ready(client: RunningClient, timeout: float = 30.0) -> None:
    """Wait for the runner's "ready" line (its client made, its workers started)."""
    import selectors

    assert client.proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(client.proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(max(0.0, deadline - time.monotonic())):
            line = client.proc.stdout.readline()
            if line.strip() == "ready":
                return
            if not line:  # exited
                break
    if client.proc.poll() is not None:
        client.proc.wait(5)
    why = _tail(client.stderr, 1) or ("no answer within 30 s" if client.proc.poll() is None else "no output")
    raise ChaosError(f"the {client.spec.label} client did not start: {why}")
