"""A MySQL/MariaDB source → replica pair the harness did not start (``--source/--replica
mysql://USER@HOST:PORT``).

Checked before anything else: both servers answer with the given user (password from
``--password-env``), the replica replicates (IO and SQL threads running) and from that source.
The replica's process or container is found the same way as a Redis node's
(:mod:`chaos.backends.attached`; ``mariadbd`` keeps its command line, so it is started again
with exactly the one it had). The workload and heartbeat tables go to a database of the run's
own, ``chaos_<run id>``, dropped at the end unless ``--keep-data``; the tables compared are that
database's. Works with binlog-position replication (``CHANGE MASTER TO ... MASTER_LOG_POS``) as
well as GTID: MariaDB tags every event group with a GTID either way, and the replica's
``gtid_slave_pos`` follows what it applied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chaos.backends.attached import (
    AttachedDockerBackend,
    AttachedProcessBackend,
    listening_pid,
    process_facts,
)
from chaos.backends.base import NodeSpec, NodeStatus
from chaos.errors import ChaosError
from chaos.state import StateDir
from chaos.topology import Attachment, Say, quiet
from chaos.topology.attach_input import parse_url, require_loopback
from chaos.topology.mysql_replication import NAME, MysqlReplication, MysqlReplicationConfig
from chaos.topology.node_mapping import _docker_by_cgroup, _docker_by_port, _safe_name
from chaos.wait import wait_until


def run_database(run_id: str) -> str:
    """``chaos_<run id>``, as a valid database name (letters, digits, _; at most 64 characters)."""
    return ("chaos_" + re.sub(r"\W", "_", run_id))[:64]


def _same_server(host_a: str, port_a: int, host_b: str, port_b: int) -> bool:
    """Master_Host/Master_Port of the replica against the --source address (localhost,
    127.0.0.1 and ::1 count as the same host)."""
    local = {"localhost", "127.0.0.1", "::1"}
    return port_a == port_b and (host_a == host_b or {host_a, host_b} <= local)


class AttachedMysqlReplication(Attachment, MysqlReplication):
    """A source and replica found from their addresses; the replica mapped to what runs it."""

    def __init__(self, state: StateDir, backend: Any, specs: list[NodeSpec], user: str, password: str,
                 database: str, unmapped: dict[str, str], tls_ca: str | None = None):
        self.state, self.backend, self.specs = state, backend, specs
        self._tls_ca = Path(tls_ca) if tls_ca else None
        self.config = MysqlReplicationConfig(base_port=specs[0].port, base_host="127.0.0.1")
        self.admin_user, self._secrets = user, {"admin": password}
        self._dialect = None
        self._by_gtid: bool | None = None
        self.workload_db = self.meta_db = database
        self.compare_dbs = {database}
        self.unmapped = unmapped

    @classmethod
    def discover(cls, state: StateDir, source_url: str, replica_url: str, password: str, backend_name: str,
                 run_id: str, allow_remote: bool = False, tls_ca: str | None = None) -> AttachedMysqlReplication:
        s_user, s_host, s_port = parse_url(source_url, "mysql", 3306)
        r_user, r_host, r_port = parse_url(replica_url, "mysql", 3306)
        user = s_user or r_user or "root"
        require_loopback(s_host, allow_remote, "--source")
        require_loopback(r_host, allow_remote, "--replica")
        root = state.topology_dir(NAME)
        if backend_name == "docker":
            backend: Any = AttachedDockerBackend(state.path)
            by_port = _docker_by_port(backend.client)
        else:
            backend, by_port = AttachedProcessBackend(state.path), {}
        specs, unmapped = [], {}
        for host, port in ((s_host, s_port), (r_host, r_port)):
            name = f"mysql-{port}"
            handle: Any = None
            if backend_name == "docker":
                found = by_port.get(port)
                container = found[0] if found else _docker_by_cgroup(backend.client, host, port)
                if container:
                    name, handle = _safe_name(container), container
                else:
                    unmapped[name] = f"no running container listens on port {port}"
            else:
                pid = listening_pid(host, port)
                if pid is None:
                    unmapped[name] = f"no local process listens on {host}:{port}"
                else:
                    facts = process_facts(pid)
                    handle = {"pid": pid, "exe": facts["exe"], "cwd": facts["cwd"], "uid": facts["uid"],
                              "gid": facts["gid"], "argv": facts["cmdline"]}
            spec = NodeSpec(name=name, kind="mysql", host=host, port=port, dir=root / name,
                            argv=[Path(handle["exe"]).name] if isinstance(handle, dict) else ["mariadbd"],
                            log_file="")
            backend.adopt(spec, handle)
            specs.append(spec)
        return cls(state, backend, specs, user, password, run_database(run_id), unmapped, tls_ca)

    @classmethod
    def from_record(cls, state: StateDir, record: dict[str, Any]) -> AttachedMysqlReplication:
        """What `chaos down` needs after a crash: the nodes and how to bring them back (no
        password is ever recorded, so nothing needing one is done)."""
        backend = (AttachedDockerBackend(state.path) if record.get("backend") == "docker"
                   else AttachedProcessBackend(state.path))
        specs = [NodeSpec.from_dict(n["spec"]) for n in record["nodes"]]
        for node, spec in zip(record["nodes"], specs, strict=True):
            backend.adopt(spec, node.get("handle"))
        return cls(state, backend, specs, record.get("user", "root"), "", record.get("database", "chaos"),
                   record.get("unmapped", {}))

    def save(self) -> None:
        self.state.put_topology(NAME, {
            "kind": NAME, "attached": True, "backend": self.backend.name, "user": self.admin_user,
            "database": self.workload_db, "unmapped": self.unmapped,
            "nodes": [{"spec": s.to_dict(), "handle": self.backend.handle(s.name)} for s in self.specs],
        })

    def up(self, timeout: float = 60.0, say: Say = quiet) -> float:
        raise ChaosError("an attached source and replica are never provisioned by the harness")

    @property
    def tls_ca(self) -> Path | None:
        """--tls-ca: the CA the user's servers' certificates are verified against (None: plain TCP)."""
        return self._tls_ca

    def describe(self) -> list[str]:
        lines = []
        for spec, role in ((self.source, "source"), (self.replica, "replica")):
            where = (f"not mapped: {self.unmapped[spec.name]}" if spec.name in self.unmapped else
                     f"container {self.backend.handle(spec.name)}" if self.backend.name == "docker" else
                     f"pid {self.backend.pids.get(spec.name)}")
            lines.append(f"  {role} {spec.name} {spec.address}: {where}")
        return lines

    def problems_before_faults(self) -> list[str]:
        """Replication running, from the given source; refused before any fault."""
        status = self.replica_status()
        if not status:
            return [f"{self.replica.address} is not a replica ({self.dialect.replica_status_sql} is empty)"]
        problems = self.replication_problems()
        host, port = status.get("source_host") or "", int(status.get("source_port") or 0)
        if not _same_server(host, port, self.source.host, self.source.port):
            problems.append(f"{self.replica.address} replicates from {host}:{port}, not from --source "
                            f"{self.source.address}")
        return problems

    @property
    def by_gtid(self) -> bool:
        """As the replica is configured (never changed by the harness)."""
        if self._by_gtid is None:
            self._by_gtid = self.dialect.uses_gtid(self.replica_status())
        return self._by_gtid

    def replication_mode(self) -> str:
        status = self.replica_status()
        return f"GTID ({status.get('using_gtid')})" if self.dialect.uses_gtid(status) else "binlog position"

    def can_fault(self, name: str) -> str | None:
        if name in self.unmapped:
            return self.unmapped[name]
        return self.backend.can_restart(name)

    def restore(self, say: Say = quiet) -> None:
        """Bring back a replica the run stopped (and its replication, when a password is known)."""
        for spec in self.specs:
            status = self.backend.status(spec.name)
            if status == NodeStatus.PAUSED:
                self.backend.resume(spec.name)
            elif status == NodeStatus.STOPPED and not self.backend.can_restart(spec.name):
                self.backend.restart(spec.name, ready_timeout=120)
                say(f"started {spec.name} again")
        if self.secrets.get("admin"):
            if not wait_until(lambda: not self.replication_problems(), 60, 0.2, retry_on=(ChaosError,)):
                say(f"warning: replication is not running: {'; '.join(self.replication_problems())}")
            else:
                say("replication is running again, from the same source")

    def drop_database(self) -> None:
        """DROP DATABASE chaos_<run id> on the source (replicated to the replica)."""
        conn = self.admin(self.source, 30)
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.workload_db}`")
        finally:
            conn.close()

