"""A Redis Cluster of local nodes: N masters, each with R replicas, one loopback address each.

Node ``i`` (1-based) is ``redis-i`` on ``127.0.0.(10+i):(base_port+i-1)``, bound to that address
alone with ``bind-source-addr`` set to it too, so every connection it opens (cluster bus,
replication) carries its own address and a firewall rule can target exactly one link.
Masters come first (redis-1..redis-N), then replicas; replica ``k`` follows master ``k mod N``.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from chaos.backends.base import NodeSpec, NodeStatus
from chaos.backends.process import ProcessBackend
from chaos.clients.resp import cluster_password
from chaos.errors import AlreadyUp, ChaosError, TopologyError
from chaos.servers import parse_server
from chaos.state import StateDir
from chaos.topology import Say, Topology, quiet
from chaos.topology.redis_info import (
    SLOTS,
    format_slots,
    parse_cluster_nodes,
    parse_info,
    split_slots,
)
from chaos.wait import wait_until

NAME = "redis-cluster"
@dataclass
class RedisClusterConfig:
    masters: int = 3
    replicas_per_master: int = 1
    node_timeout_ms: int = 3000
    base_port: int = 7001
    base_host: str = "127.0.0.11"
    server: str = ""  # --server: redis[:8.0] | valkey[:9.1]; "" = redis, any version
    image: str = ""  # docker backend: the image resolved for it
    image_ref: str = ""  # --image: the user's own image (docker backend)
    image_info: dict | None = None  # what the harness found in it (chaos.image_ref.ImageInfo)

    def validate(self) -> None:
        parse_server(self.server, "redis")
        if self.image_ref and self.server:
            raise ChaosError("give --image or --server, not both: the image's binary says which server it is")
        if not 1 <= self.masters <= 100:
            raise ChaosError(f"--masters must be between 1 and 100, got {self.masters}")
        if not 0 <= self.replicas_per_master <= 5:
            raise ChaosError(
                f"--replicas-per-master must be between 0 and 5, got {self.replicas_per_master}"
            )
        if self.node_timeout_ms < 100:
            raise ChaosError(f"--node-timeout-ms must be at least 100, got {self.node_timeout_ms}")
        if not 1024 <= self.base_port <= 55535 - self.size:
            raise ChaosError(
                f"--base-port must leave room for {self.size} nodes and their cluster-bus ports "
                f"(port + 10000) below 65536, got {self.base_port}"
            )
        host = ipaddress.IPv4Address(self.base_host)
        if not host.is_loopback or int(host) + self.size > int(ipaddress.IPv4Address("127.255.255.254")):
            raise ChaosError(f"node addresses must be in 127.0.0.0/8, got {self.base_host}")

    @property
    def size(self) -> int:
        return self.masters * (1 + self.replicas_per_master)


# the settings every node gets from the harness (a user's image keeps every other one)
HARNESS_SETTINGS = ["port", "bind", "bind-source-addr", "protected-mode", "daemonize", "dir", "logfile",
                    "cluster-enabled", "cluster-config-file", "cluster-node-timeout", "appendonly", "save",
                    "enable-debug-command", "repl-diskless-sync-delay"]


def node_config(spec: NodeSpec, node_timeout_ms: int, image: dict | None = None) -> str:
    """redis.conf of a node. With a user's image whose CMD gives the server a config file and
    arguments, that file is included first and the arguments follow: the harness's own lines
    come last, so only what it needs (ports, addresses, cluster flags, data directory) wins."""
    from chaos.image_ref import redis_lines

    kept = ([f"include {image['conf']}"] if image and image.get("conf") else []) + \
        (redis_lines(image.get("args") or []) if image else [])
    return "\n".join(
        kept + [
            f"port {spec.port}",
            f"bind {spec.host}",
            f"bind-source-addr {spec.host}",
            "protected-mode no",
            "daemonize no",
            f"dir {spec.dir}",
            f"logfile {spec.log_path}",
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            f"cluster-node-timeout {node_timeout_ms}",
            "appendonly yes",
            'save ""',
            "enable-debug-command local",
            "repl-diskless-sync-delay 0",
            "",
        ]
    )


class RedisCluster(Topology):
    """Provision, inspect and tear down a Redis Cluster on a backend."""

    NAME = NAME
    CONFIG = RedisClusterConfig
    STOP_TIMEOUT = 5.0
    STATUS_COLUMNS = ["name", "address", "role", "follows", "slots", "keys", "link", "pid", "process"]

    def __init__(self, state: StateDir, config: RedisClusterConfig, backend: Any = None):
        self.state = state
        self.config = config
        self.backend = backend or ProcessBackend(state.path)
        self.specs = self._node_specs()

    attached = False  # a cluster the harness did not start (chaos.topology.attach)

    # -- construction ------------------------------------------------------------------------
    def _node_specs(self) -> list[NodeSpec]:
        return [self._spec(i + 1) for i in range(self.config.size)]

    def _spec(self, number: int) -> NodeSpec:
        """Node ``number`` (1-based): ``redis-N`` on base_host + N − 1, port base_port + N − 1."""
        root = self.state.topology_dir(NAME)
        name = f"redis-{number}"
        port = self.config.base_port + number - 1
        binary = (self.config.image_info or {}).get("binary") or parse_server(self.config.server, "redis").family.binary
        return NodeSpec(name=name, kind="redis", host=str(ipaddress.IPv4Address(self.config.base_host) + number - 1),
                        port=port, dir=root / name, argv=[binary, str(root / name / "redis.conf")],
                        extra_ports=[port + 10000], log_file="redis.log", image=self.config.image)

    def node_id(self, spec: NodeSpec) -> str:
        return self.client(spec).execute_command("CLUSTER", "MYID")

    # -- scaling -------------------------------------------------------------------------------
    def add_nodes(self, masters: int, replicas_per_master: int, say: Say = quiet,
                  timeout: float = 30.0) -> dict[str, Any]:
        """Start ``masters`` new empty masters and ``replicas_per_master`` replicas of each, join
        them (every node knows every node, no handshake left), attach the replicas (link up).
        Returns the names and node ids of the new nodes and when each stage ended."""
        first = max(int(s.name.rsplit("-", 1)[1]) for s in self.specs) + 1
        count = masters * (1 + replicas_per_master)
        new = [self._spec(first + i) for i in range(count)]
        last = ipaddress.IPv4Address(new[-1].host)
        if not last.is_loopback or new[-1].port + 10000 > 65535:
            raise ChaosError(f"no room for {count} more nodes after {self.specs[-1].address}")
        for spec in new:
            self.backend.check_ports(spec)
        stages: dict[str, float] = {}
        for spec in new:
            if spec.dir.exists():
                shutil.rmtree(spec.dir)
            spec.dir.mkdir(parents=True)
            (spec.dir / "redis.conf").write_text(node_config(spec, self.config.node_timeout_ms, self.config.image_info))
            self.specs.append(spec)
            self.backend.start(spec)
            self.save()
        stages["started"] = time.monotonic()
        say(f"started {count} new node(s): {', '.join(f'{s.name} ({s.address})' for s in new)}")
        for spec in new:
            self.client(spec).execute_command("CLUSTER", "MEET", self.specs[0].host, self.specs[0].port)
        ids = [self.node_id(s) for s in self.specs]
        self._wait(lambda: all(self._knows_all(self.client(s), ids) for s in self.specs), timeout,
                   "the new nodes did not join (not every node knows every node)")
        stages["joined"] = time.monotonic()
        new_masters, new_replicas = new[:masters], new[masters:]
        for k, spec in enumerate(new_replicas):
            master = new_masters[k % masters]
            self.client(spec).execute_command("CLUSTER", "REPLICATE", self.node_id(master))
        self._wait(lambda: all(self.client(s).info("replication").get("master_link_status") == "up"
                               for s in new_replicas), timeout, "the new replicas did not link up")
        stages["replicas_linked"] = time.monotonic()
        # a node that just joined answers CLUSTERDOWN (also to MIGRATE) until it has the slot map
        self._wait(lambda: all(parse_info(self.client(s).execute_command("CLUSTER", "INFO")).get("cluster_state")
                               == "ok" for s in self.specs), timeout, "the cluster did not report ok everywhere")
        stages["agreed"] = time.monotonic()
        self.config.masters += masters
        self.save()
        return {"masters": [s.name for s in new_masters], "replicas": [s.name for s in new_replicas],
                "ids": {s.name: self.node_id(s) for s in new}, "stages": stages}

    def remove_nodes(self, names: list[str], masters_leaving: int, say: Say = quiet,
                     timeout: float = 30.0) -> dict[str, Any]:
        """Take nodes that own no slots out of the cluster: ``CLUSTER RESET HARD`` on each (it
        forgets the cluster and takes a new id), ``CLUSTER FORGET`` of their old ids on every
        remaining node at once (the ban lasts 60 s and does not spread by gossip), stop them,
        then wait until no remaining node knows them."""
        leaving = [self.spec(n) for n in names]
        staying = [s for s in self.specs if s.name not in names]
        ids = {s.name: self.node_id(s) for s in leaving}
        for spec in leaving:
            self.client(spec).execute_command("CLUSTER", "RESET", "HARD")
        for spec in staying:
            c = self.client(spec)
            for node_id in ids.values():
                try:
                    c.execute_command("CLUSTER", "FORGET", node_id)
                except redis.ResponseError as exc:
                    if "Unknown node" not in str(exc):
                        raise
        for spec in leaving:
            self.backend.stop(spec.name, timeout=self.STOP_TIMEOUT)
            self.backend.forget(spec.name)
            shutil.rmtree(spec.dir, ignore_errors=True)
        self.specs = staying
        self.config.masters = max(1, self.config.masters - masters_leaving)
        self.save()
        gone = set(ids.values())
        self._wait(lambda: not any(gone & {n.node_id for n in parse_cluster_nodes(
            self.client(s).execute_command("CLUSTER", "NODES"))} for s in staying), timeout,
            "a remaining node still knows a removed node")
        say(f"removed {', '.join(names)} from the cluster")
        return {"removed": names, "ids": ids}

    @property
    def masters(self) -> list[NodeSpec]:
        return self.specs[: self.config.masters]

    @property
    def replicas(self) -> list[NodeSpec]:
        return self.specs[self.config.masters :]

    def spec(self, name_or_address: str) -> NodeSpec:
        for s in self.specs:
            if name_or_address in (s.name, s.address):
                return s
        raise ChaosError(
            f"unknown node {name_or_address!r}; nodes are "
            + ", ".join(f"{s.name} ({s.address})" for s in self.specs)
        )

    def client(self, spec: NodeSpec, timeout: float = 1.0, decode: bool = True) -> redis.Redis:
        return redis.Redis(
            host=spec.host, port=spec.port, socket_timeout=timeout, socket_connect_timeout=timeout,
            decode_responses=decode, password=cluster_password(),
        )

    # -- up / down ---------------------------------------------------------------------------
    def up(self, timeout: float = 30.0, say: Say = quiet) -> float:
        """Start every node, form the cluster, wait until healthy; return the seconds it took.

        Anything started is stopped again if this fails or is interrupted."""
        self.config.validate()
        self.state.ensure()
        if self.state.topology(NAME) is not None:
            raise AlreadyUp(
                f"a redis-cluster is already up in {self.state.path}; use it, or run `chaos down` first"
            )
        if self.config.image_ref:
            resolved = self.own_image(say)
        else:
            resolved = self.backend.require("redis", parse_server(self.config.server, "redis"))
        if self.backend.name == "docker":
            self.config.image = resolved
            for spec in self.specs:
                spec.image = resolved
        for spec in self.specs:  # all ports checked before anything starts
            self.backend.check_ports(spec)
        started = time.monotonic()
        self.save()
        try:
            for spec in self.specs:
                if spec.dir.exists():
                    shutil.rmtree(spec.dir)
                spec.dir.mkdir(parents=True)
                (spec.dir / "redis.conf").write_text(node_config(spec, self.config.node_timeout_ms, self.config.image_info))
                self.backend.start(spec)
                self.save()
            binary = os.path.basename(self.specs[0].argv[0])
            say(f"started {len(self.specs)} {binary} nodes ({self.backend.name} backend) on "
                f"{self.specs[0].address} … {self.specs[-1].address}")
            self._form(timeout)
            self.wait_healthy(timeout)
        except BaseException:
            self.down()
            raise
        return time.monotonic() - started

    def own_image(self, say: Say) -> str:
        """--image: inspect (and pull) the user's image; its binary names the nodes' server."""
        if self.backend.name != "docker":
            raise ChaosError("--image needs --backend docker")
        from chaos.image_ref import inspect_image

        info = inspect_image(self.backend.client, self.config.image_ref, "redis", say)
        self.config.image_info = info.to_dict()
        self.specs = self._node_specs()  # the image's binary
        say(f"image {info.ref}: {info.binary} {info.version}"
            + (f", its config {info.conf} kept" if info.conf else "") + (f", its arguments {' '.join(info.args)} kept"
                                                                        if info.args else ""))
        return info.ref

    def _form(self, timeout: float) -> None:
        clients = [self.client(s) for s in self.specs]
        for i, c in enumerate(clients):
            c.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for (lo, hi), c in zip(split_slots(self.config.masters), clients):
            c.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        # every node meets every other: the handshakes then finish within a cluster cron tick or two,
        # instead of waiting for gossip to spread the news from one meeting point (2.5 s → 0.3 s here)
        for i, c in enumerate(clients):
            for other in self.specs[i + 1 :]:
                c.execute_command("CLUSTER", "MEET", other.host, other.port)
        ids = [c.execute_command("CLUSTER", "MYID") for c in clients]
        self._wait(
            lambda: all(self._knows_all(c, ids) for c in clients),
            timeout, "the nodes did not all learn about each other",
        )
        for k, c in enumerate(clients[self.config.masters :]):
            c.execute_command("CLUSTER", "REPLICATE", ids[k % self.config.masters])

    @staticmethod
    def _knows_all(client: redis.Redis, ids: list[str]) -> bool:
        nodes = parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))
        ready = {n.node_id for n in nodes if not ({"handshake", "noaddr"} & n.flags)}
        return ready >= set(ids)

    def health_problems(self) -> list[str]:
        """What keeps the cluster from being healthy right now (empty list: healthy)."""
        problems = []
        replicas = 0
        for spec in self.specs:
            try:
                c = self.client(spec)
                info = parse_info(c.execute_command("CLUSTER", "INFO"))
                repl = c.info("replication")
            except redis.RedisError as exc:
                problems.append(f"{spec.name} ({spec.address}) does not answer: {exc}")
                continue
            if info.get("cluster_state") != "ok":
                problems.append(f"{spec.name} reports cluster_state:{info.get('cluster_state')}")
            if info.get("cluster_slots_ok") != str(SLOTS):
                problems.append(f"{spec.name} sees {info.get('cluster_slots_ok')}/{SLOTS} slots ok")
            if repl.get("role") == "slave":
                replicas += 1
                if repl.get("master_link_status") != "up":
                    problems.append(f"{spec.name} has master_link_status:{repl.get('master_link_status')}")
        want = self.expected_replicas()
        if not problems and replicas != want:
            problems.append(f"{replicas} replicas linked, expected {want}")
        return problems

    def expected_replicas(self) -> int:
        return self.config.masters * self.config.replicas_per_master

    def wait_healthy(self, timeout: float = 30.0) -> None:
        self._wait(lambda: not self.health_problems(), timeout, "the cluster did not become healthy")

    def _wait(self, ok: Callable[[], bool], timeout: float, what: str) -> None:
        if not wait_until(ok, timeout, 0.05, retry_on=(redis.RedisError,)):
            detail = "; ".join(self.health_problems()[:3]) or "no detail"
            raise TopologyError(f"{what} within {timeout:.0f} s ({detail}); node logs are in "
                                f"{self.state.topology_dir(NAME)}")


    # -- inspection --------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        """One row per node: name, address, role, follows, slots, keys, link, pid, process."""
        by_id: dict[str, str] = {}
        rows = []
        for spec in self.specs:
            process = self.backend.status(spec.name)
            row: dict[str, Any] = {
                "name": spec.name, "address": spec.address, "role": None, "follows": None,
                "slots": "", "keys": None, "link": None, "pid": self.backend.pid(spec.name),
                "process": process,
            }
            rows.append(row)
            if process not in (NodeStatus.RUNNING, NodeStatus.UNKNOWN):
                continue
            try:
                c = self.client(spec, timeout=0.5)
                nodes = parse_cluster_nodes(c.execute_command("CLUSTER", "NODES"))
                repl = c.info("replication")
                row["keys"] = c.dbsize()
                row["server"] = server_version(c.info("server"))
            except redis.RedisError as exc:
                row["link"] = f"no answer: {exc}"
                continue
            for n in nodes:
                by_id.setdefault(n.node_id, n.address)
            me = next(n for n in nodes if n.is_myself)
            row["_master_id"] = me.master_id
            row["role"] = "master" if me.is_master else "replica"
            row["slots"] = format_slots(me.slots)
            if me.is_master:
                row["link"] = f"{repl.get('connected_slaves', '0')} replica(s)"
            else:
                row["link"] = repl.get("master_link_status")
        names = {s.address: s.name for s in self.specs}
        for row in rows:
            master_id = row.pop("_master_id", None)
            if master_id:
                addr = by_id.get(master_id, master_id[:8])
                row["follows"] = names.get(addr, addr)
        return rows


def server_version(info: dict[str, Any]) -> str:
    """``INFO server`` → "redis 7.0.15" / "valkey 9.1.2" (Valkey names itself in server_name)."""
    name = str(info.get("server_name") or "redis")
    return f"{name} {info.get(f'{name}_version') or info.get('redis_version', '?')}"
