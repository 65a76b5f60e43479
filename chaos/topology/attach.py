"""A Redis Cluster the harness did not start (``--attach redis://HOST:PORT``).

Discovery from one node (``CLUSTER NODES``, then every node's ``INFO server`` and ``CONFIG
GET``), then each node mapped to what runs it (:mod:`chaos.backends.attached`). The attachment
is recorded in state.json like a cluster the harness started, so a crashed run's ``chaos down``
brings back what it killed or paused, but it is never provisioned, reconfigured or torn down:
``down`` restores (resume, restart) and forgets the record. Keys the load wrote carry the run id
and are deleted at the end of a run (``--keep-data`` keeps them)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from typing import Any

import redis

from chaos.backends.attached import (
    AttachedDockerBackend,
    AttachedProcessBackend,
    listening_pid,
    process_facts,
)
from chaos.backends.base import NodeSpec, NodeStatus
from chaos.clients.resp import PASSWORD_ENV, cluster_password
from chaos.errors import ChaosError
from chaos.state import StateDir
from chaos.topology import Attachment, Say, quiet
from chaos.topology.attach_input import NeedsPassword, parse_url, prompt_password, require_loopback
from chaos.topology.node_mapping import _docker_by_cgroup, _docker_by_port, _safe_name
from chaos.topology.redis_cluster import NAME, RedisCluster, RedisClusterConfig
from chaos.topology.redis_info import format_slots, parse_cluster_nodes
from chaos.wait import wait_until

DEFAULT_NODE_TIMEOUT_MS = 15000  # Redis's default cluster-node-timeout
# settings written as several words in a config file (all others are quoted as one value)
MULTI_WORD = {"save", "client-output-buffer-limit", "bind", "oom-score-adj-values"}


# -- discovery -----------------------------------------------------------------------------------
def _client(host: str, port: int, timeout: float = 2.0) -> redis.Redis:
    return redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       decode_responses=True, password=cluster_password())


def redis_error(address: str, exc: Exception) -> ChaosError:
    text = str(exc)
    if "NOAUTH" in text or "Authentication required" in text or "already authenticated" in text:
        return NeedsPassword(f"{address} needs a password: export it in a variable and give --password-env VAR")
    if "WRONGPASS" in text or "invalid password" in text or "invalid username-password" in text:
        return ChaosError(f"{address} refused the password (WRONGPASS); check the variable given to --password-env")
    return ChaosError(f"cannot talk to Redis at {address} ({text.splitlines()[0][:160] if text else type(exc).__name__})")


def config_to_file(config: dict[str, str]) -> str:
    """``CONFIG GET *`` → a config file that starts the server as it was (pure)."""
    lines = []
    for key, value in sorted(config.items()):
        if value == "" and key != "save":  # an empty value means "unset": the default applies
            continue
        if key in MULTI_WORD and value:
            lines.append(f"{key} {value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} "{escaped}"')
    return "\n".join(lines) + "\n"


def view_disagreements(nodes: list[dict[str, Any]]) -> list[str]:
    """Where a node's own ``myself`` line (its role, its master) differs from what the seed
    node said of it: the cluster is still forming (``redis-cli --cluster create`` has just
    returned, a replica was just added) or gossip has not reached the seed yet."""
    out = []
    for n in nodes:
        own = n.get("own")
        if own is None:
            continue
        role, master_id = own
        if role != n["role"] or (role == "replica" and master_id != n["master_id"]):
            seen = "a master" if n["role"] == "master" else f"a replica of {(n['master_id'] or '?')[:8]}"
            says = "a master" if role == "master" else f"a replica of {(master_id or '?')[:8]}"
            out.append(f"{n['address']} says it is {says}, the seed node sees {seen}")
    return out


def discover(host: str, port: int, settle_seconds: float = 15.0) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`discover_once`, again until every node's own view of its role agrees with the
    seed's (at most ``settle_seconds``); refuses a cluster whose views still disagree."""
    deadline = time.monotonic() + settle_seconds
    while True:
        nodes, notes = discover_once(host, port)
        disagree = view_disagreements(nodes)
        if not disagree:
            return nodes, notes
        if time.monotonic() >= deadline:
            raise ChaosError(f"the nodes of {host}:{port} still disagree on their roles after {settle_seconds:.0f} s "
                             f"({'; '.join(disagree[:3])}): the cluster is still forming or its gossip is split; "
                             "check CLUSTER NODES on each node and run again")
        time.sleep(0.5)


def discover_once(host: str, port: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Every node of the cluster ``host:port`` belongs to: address, id, role, master id, slots,
    server version, process id, and its configuration (None, with a note, where ``CONFIG`` is
    renamed or denied), and (``own``) the role and master the node gives itself. Masters first
    (by first slot), then replicas."""
    address = f"{host}:{port}"
    try:
        seed = _client(host, port)
        if str(seed.info("cluster").get("cluster_enabled")) != "1":
            raise ChaosError(f"{address} is not a Redis Cluster node (cluster_enabled:0); --attach needs a cluster")
        known = parse_cluster_nodes(seed.execute_command("CLUSTER", "NODES"))
    except redis.RedisError as exc:
        raise redis_error(address, exc) from None
    notes: list[str] = []
    nodes = []
    for n in known:
        if {"handshake", "noaddr"} & n.flags:
            notes.append(f"{n.address or n.node_id[:8]} is in handshake or has no address: ignored")
            continue
        h, _, p = n.address.rpartition(":")
        node: dict[str, Any] = {"address": n.address, "host": h, "port": int(p), "id": n.node_id,
                                "role": "master" if n.is_master else "replica", "master_id": n.master_id,
                                "slots": n.slots, "failing": n.failing, "config": None}
        nodes.append(node)
        try:
            c = _client(h, int(p))
            server = {k: str(v) for k, v in c.info("server").items()}
        except redis.RedisError as exc:
            node["error"] = str(exc)
            continue
        try:
            me = next((m for m in parse_cluster_nodes(c.execute_command("CLUSTER", "NODES")) if m.is_myself), None)
        except redis.RedisError:
            me = None
        if me is not None:
            node["own"] = ("master" if me.is_master else "replica", me.master_id)
        name = server.get("server_name") or "redis"
        node.update(version=f"{name} {server.get(f'{name}_version') or server.get('redis_version', '?')}",
                    process_id=int(server.get("process_id", 0)), executable=server.get("executable", ""),
                    config_file=server.get("config_file", ""))
        try:
            node["config"] = c.config_get("*")
        except redis.RedisError as exc:
            notes.append(f"{n.address}: CONFIG GET is not available ({str(exc)[:80]}): its node timeout and log "
                         "file are unknown, and the process backend cannot start it again after a kill")
    masters = sorted((n for n in nodes if n["role"] == "master"), key=lambda n: (n["slots"] or [(16384, 0)])[0])
    order = {m["id"]: i for i, m in enumerate(masters)}
    replicas = sorted((n for n in nodes if n["role"] == "replica"),
                      key=lambda n: (order.get(n["master_id"], len(order)), n["address"]))
    return masters + replicas, notes


def node_timeout_ms(nodes: list[dict[str, Any]], notes: list[str]) -> int:
    for n in nodes:
        value = (n.get("config") or {}).get("cluster-node-timeout")
        if value:
            return int(value)
    notes.append(f"cluster-node-timeout unknown (CONFIG denied): assuming Redis's default of "
                 f"{DEFAULT_NODE_TIMEOUT_MS} ms for the waits")
    return DEFAULT_NODE_TIMEOUT_MS


# -- mapping nodes to what runs them -------------------------------------------------------------
def map_nodes(state: StateDir, nodes: list[dict[str, Any]], backend_name: str
              ) -> tuple[Any, list[NodeSpec], dict[str, Any], dict[str, str]]:
    """(backend, specs, handles by name, why a node could not be mapped by name)."""
    root = state.topology_dir(NAME)
    ports = [n["port"] for n in nodes]
    unmapped: dict[str, str] = {}
    handles: dict[str, Any] = {}
    specs: list[NodeSpec] = []
    if backend_name == "docker":
        backend: Any = AttachedDockerBackend(state.path)
        by_port = _docker_by_port(backend.client)
    elif backend_name == "process":
        backend = AttachedProcessBackend(state.path)
        by_port = {}
    else:
        raise ChaosError(f"unknown backend {backend_name!r}; use process or docker")
    for n in nodes:
        host, port = n["host"], n["port"]
        name = f"redis-{port}" if ports.count(port) == 1 else f"redis-{host}-{port}"
        logfile = (n.get("config") or {}).get("logfile", "")
        if backend_name == "docker":
            found = by_port.get(port)
            container = found[0] if found else _docker_by_cgroup(backend.client, host, port)
            if container:
                name = _safe_name(container)
                handles[name] = container
            else:
                unmapped[name] = f"no running container listens on port {port} (host network: --port in its " \
                                 "command; bridge: a published port)"
        else:
            pid = listening_pid(host, port)
            if pid is None:
                unmapped[name] = f"no local process listens on {host}:{port} (another machine, or another user's)"
            else:
                handles[name] = process_recipe(state, name, pid, n, logfile)
                if handles[name].get("why_not"):
                    unmapped[name] = handles[name]["why_not"]
        if logfile and backend_name == "process" and name in handles and not os.path.isabs(logfile):
            logfile = os.path.join(handles[name]["cwd"], logfile)
        specs.append(NodeSpec(name=name, kind="redis", host=host, port=port, dir=root / name,
                              argv=[os.path.basename(n.get("executable") or "redis-server")],
                              extra_ports=[], log_file=logfile if backend_name == "process" else ""))
    for spec in specs:
        backend.adopt(spec, handles.get(spec.name))
    return backend, specs, handles, unmapped


def process_recipe(state: StateDir, name: str, pid: int, node: dict[str, Any], logfile: str) -> dict[str, Any]:
    """How to start the process of ``node`` again. Redis rewrote its command line, so the recipe
    is its executable with the effective configuration it had (CONFIG GET *) as its config file,
    in its working directory, as its user."""
    try:
        facts = process_facts(pid)
    except OSError as exc:
        return {"pid": pid, "why_not": f"its process {pid} cannot be inspected ({exc.strerror})"}
    recipe = {"pid": pid, "exe": facts["exe"], "cwd": facts["cwd"], "uid": facts["uid"], "gid": facts["gid"]}
    executable = node.get("executable") or ""
    argv0 = os.path.basename(executable) or "redis-server"
    if os.path.isfile(executable):  # the name it was started by: redis-server is a link to redis-check-rdb
        recipe["exe"] = executable
    config = node.get("config")
    if not config:
        recipe["why_not"] = "CONFIG GET is not available, so its configuration cannot be restored after a kill"
        return recipe
    directory = state.topology_dir(NAME) / name
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "restart.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold requirepass
    with os.fdopen(fd, "w") as out:
        out.write(config_to_file({**config, "daemonize": "no"}))
    recipe["argv"] = [argv0, str(conf)]
    return recipe


# -- the attached cluster ------------------------------------------------------------------------
class AttachedRedisCluster(Attachment, RedisCluster):
    """A discovered cluster: nodes named after their containers (docker) or ports (process)."""

    def __init__(self, state: StateDir, config: RedisClusterConfig, backend: Any, specs: list[NodeSpec],
                 target: str, replicas: int, unmapped: dict[str, str], roles: dict[str, str],
                 versions: dict[str, str], nodes: list[dict[str, Any]] | None = None,
                 notes: list[str] | None = None):
        self.state, self.config, self.backend, self.specs = state, config, backend, specs
        self.target, self.replica_count, self.unmapped = target, replicas, unmapped
        self.roles, self.versions = roles, versions
        self.nodes, self.notes = nodes or [], notes or []  # what discovery found (not kept in state.json)

    @classmethod
    def discover(cls, state: StateDir, target: str, backend_name: str, allow_remote: bool = False
                 ) -> AttachedRedisCluster:
        """Find the cluster of ``target`` (redis://HOST:PORT) and map its nodes; refuses a node
        that is not on loopback unless ``allow_remote``."""
        _, host, port = parse_url(target, "redis", 6379)
        require_loopback(host, allow_remote)
        try:
            nodes, notes = discover(host, port)
        except NeedsPassword:
            typed = None if cluster_password() else prompt_password(target)
            if not typed:
                raise
            os.environ[PASSWORD_ENV] = typed
            nodes, notes = discover(host, port)
        for n in nodes:
            require_loopback(n["host"], allow_remote, option=f"--attach: node {n['address']}")
        timeout = node_timeout_ms(nodes, notes)
        backend, specs, _, unmapped = map_nodes(state, nodes, backend_name)
        masters = sum(1 for n in nodes if n["role"] == "master")
        replicas = len(nodes) - masters
        config = RedisClusterConfig(masters=masters, replicas_per_master=replicas // max(masters, 1),
                                    node_timeout_ms=timeout, base_port=port, base_host=host)
        roles = {s.name: n["role"] for s, n in zip(specs, nodes)}
        versions = {s.name: n.get("version", "?") for s, n in zip(specs, nodes)}
        return cls(state, config, backend, specs, f"{host}:{port}", replicas, unmapped, roles, versions, nodes, notes)

    @classmethod
    def from_record(cls, state: StateDir, record: dict[str, Any]) -> AttachedRedisCluster:
        backend = (AttachedDockerBackend(state.path) if record.get("backend") == "docker"
                   else AttachedProcessBackend(state.path))
        specs = [NodeSpec.from_dict(n["spec"]) for n in record["nodes"]]
        for node, spec in zip(record["nodes"], specs, strict=True):
            backend.adopt(spec, node.get("handle"))
        return cls(state, RedisClusterConfig(**record["config"]), backend, specs, record.get("target", "?"),
                   record.get("replicas", 0), record.get("unmapped", {}), record.get("roles", {}),
                   record.get("versions", {}))

    def save(self) -> None:
        self.state.put_topology(NAME, {
            "kind": NAME, "attached": True, "target": self.target, "backend": self.backend.name,
            "config": asdict(self.config), "replicas": self.replica_count, "unmapped": self.unmapped,
            "roles": self.roles, "versions": self.versions,
            "nodes": [{"spec": s.to_dict(), "handle": self.backend.handle(s.name) if s.name not in self.unmapped
                       or self.backend.name == "process" else None} for s in self.specs],
        })

    def expected_replicas(self) -> int:
        return self.replica_count

    def up(self, timeout: float = 30.0, say: Say = quiet) -> float:
        raise ChaosError("an attached cluster is never provisioned by the harness")

    def can_fault(self, name: str, needs_restart: bool) -> str | None:
        """Why the node ``name`` cannot be faulted this way (None: it can)."""
        if name in self.unmapped and (needs_restart or self.backend.name == "docker" or
                                      not self.backend.pids.get(name)):
            return self.unmapped[name]
        if needs_restart:
            return self.backend.can_restart(name)
        return None

    def describe(self) -> list[str]:
        """What was found, one line per node, then the notes."""
        lines = [f"attached to the Redis Cluster at {self.target}: {self.config.masters} masters, "
                 f"{self.replica_count} replicas, cluster-node-timeout {self.config.node_timeout_ms} ms"]
        by_id = {n["id"]: s.name for n, s in zip(self.nodes, self.specs)}
        for n, spec in zip(self.nodes, self.specs):
            cfg = n.get("config") or {}
            persistence = (f"appendonly {cfg.get('appendonly')}, save '{cfg.get('save')}'" if cfg else
                           "persistence unknown")
            role = (f"master of {format_slots(n['slots']) or 'no slots'}" if n["role"] == "master"
                    else f"replica of {by_id.get(n['master_id'], (n['master_id'] or '?')[:8])}")
            runs = self.unmapped.get(spec.name)
            where = (f"not mapped: {runs}" if runs else
                     f"container {self.backend.handle(spec.name)}" if self.backend.name == "docker" else
                     f"pid {self.backend.pids.get(spec.name)}")
            lines.append(f"  {spec.name} {spec.address} {n.get('version', '?')}: {role}; {persistence}; {where}")
        lines += [f"  note: {note}" for note in self.notes]
        return lines

    def problems_before_faults(self) -> list[str]:
        """Health, and a replica for every master: refused before any fault."""
        problems = self.health_problems()
        followed = {n["master_id"] for n in self.nodes if n["role"] == "replica"}
        for n, spec in zip(self.nodes, self.specs):
            if n["role"] == "master" and n["slots"] and n["id"] not in followed:
                problems.append(f"master {spec.name} ({spec.address}) has no replica, so no failover can happen")
            if n.get("failing"):
                problems.append(f"{spec.name} ({spec.address}) is flagged as failing")
        return problems

    def restore(self, say: Say = quiet, timeout: float | None = None) -> list[str]:
        """Bring back what the harness paused or killed, wait until the cluster is ok with every
        node back (in its old role, or as a replica), and say how each node ended."""
        for spec in self.specs:
            status = self.backend.status(spec.name)
            if status == NodeStatus.PAUSED:
                self.backend.resume(spec.name)
                say(f"resumed {spec.name}")
            elif status == NodeStatus.STOPPED and not self.backend.can_restart(spec.name):
                self.backend.restart(spec.name)
                say(f"started {spec.name} again")
        wait = timeout if timeout is not None else max(60.0, self.config.node_timeout_ms / 1000 * 4)
        healthy = wait_until(lambda: not self.health_problems(), wait, 0.2, retry_on=(redis.RedisError,))
        rows = {r["name"]: r for r in self.status()}
        changed = [f"{name} is now a {rows[name]['role']} (was {role})" for name, role in self.roles.items()
                   if name in rows and rows[name]["role"] != role]
        if healthy:
            say("the cluster is ok with every node back" + (f"; {'; '.join(changed)}" if changed else
                                                            ", each in its original role"))
        else:
            say(f"warning: the cluster is not healthy after {wait:.0f} s: "
                f"{'; '.join(self.health_problems()[:3])}")
        return changed



def delete_run_keys(cluster: RedisCluster, run_id: str, batch: int = 500) -> int:
    """Delete the keys the load wrote (they carry the run id) from every master; the count."""
    deleted = 0
    pattern = f"chaos:*:{run_id}:*"
    for spec in cluster.specs:
        c = cluster.client(spec, timeout=5.0)
        try:
            if c.info("replication").get("role") != "master":
                continue
            keys = list(c.scan_iter(match=pattern, count=1000))
            for i in range(0, len(keys), batch):
                pipe = c.pipeline(transaction=False)
                for key in keys[i : i + batch]:  # one key per command: keys of one batch span slots
                    pipe.unlink(key)
                deleted += sum(pipe.execute())
        except redis.RedisError:
            continue
    return deleted
