"""A MySQL/MariaDB source → replica pair of local server processes.

``mysql-1`` (source) on 127.0.0.21:3307 and ``mysql-2`` (replica) on 127.0.0.22:3308 by default,
each with its own datadir, config, socket and error log, set up the way operators set up such a
pair by hand: unique ``server_id``, binary log on, ``binlog_format=mixed``, ``relay_log``,
``log_slave_updates``, replica ``read_only=1``, GTID positioning.

Credentials: the harness creates an admin user and a replication user with generated
passwords, kept in ``<state>/mysql-replication/secrets.json`` (mode 0600). They never appear in
process arguments, logs or reports: servers get only ``--defaults-file``, the load process gets
its password in the environment.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from chaos import tls as tls_files
from chaos.backends import ProcessBackend
from chaos.backends.base import NodeSpec, NodeStatus
from chaos.checkers.replication import binlog_position, gtid_reached, parse_binlog_position, position_reached
from chaos.errors import AlreadyUp, ChaosError, TopologyError
from chaos.servers import parse_server
from chaos.state import StateDir
from chaos.topology import Say, Topology, quiet
from chaos.topology.mysql_dialect import REPLICATION_MODES, Dialect, dialect_of
from chaos.wait import wait_until

NAME = "mysql-replication"
ADMIN_USER = "chaos"
REPL_USER = "repl"
SYSTEM_SCHEMAS = {"mysql", "information_schema", "performance_schema", "sys"}
META_DB = "chaos_meta"
@dataclass
class MysqlReplicationConfig:
    base_port: int = 3307
    base_host: str = "127.0.0.21"
    server: str = "mariadbd"  # the binary (or mysqld)
    version: str = ""  # --server mariadb[:11.8]; "" = any
    image: str = ""  # docker backend: the image resolved for it
    replication: str = "gtid"  # gtid | position (binary log file and position, read from the source)
    replica_skip_errors: str = ""  # e.g. 1062: the runbook's setting that hides duplicate-key errors
    source_node: str = "mysql-1"  # which node is the source now (source-kill promotes the other)
    image_ref: str = ""  # --image: the user's own image (docker backend)
    image_info: dict | None = None  # what the harness found in it (chaos.image_ref.ImageInfo)
    image_replica_ref: str = ""  # --image-replica: another image for the node that starts as the replica
    image_replica_info: dict | None = None
    image_replica: str = ""  # the image resolved for it
    tls: bool = False  # --tls: TLS only (require_secure_transport), REQUIRE SSL users, replication over TLS

    def validate(self) -> None:
        parse_server(self.version, "mysql")
        if self.image_ref and self.version:
            raise ChaosError("give --image or --server, not both: the image's binary says which server it is")
        if self.replication not in REPLICATION_MODES:
            raise ChaosError(f"--replication must be one of {', '.join(REPLICATION_MODES)}, got {self.replication!r}")
        if self.replica_skip_errors and not re.fullmatch(r"\d+(,\d+)*|all|ddl_exist_errors", self.replica_skip_errors):
            raise ChaosError(f"--replica-skip-errors takes error codes like 1062 or 1062,1032, got "
                             f"{self.replica_skip_errors!r}")
        if not 1024 <= self.base_port <= 65534:
            raise ChaosError(f"--base-port must be between 1024 and 65534, got {self.base_port}")
        if not ipaddress.IPv4Address(self.base_host).is_loopback:
            raise ChaosError(f"node addresses must be in 127.0.0.0/8, got {self.base_host}")


def server_config(spec: NodeSpec, server_id: int, replica: bool, family: str = "mariadb",
                  replication: str = "gtid", skip_errors: str = "", tls: bool = False) -> str:
    """my.cnf of a node; Oracle MySQL (``family`` mysql) takes the names 8.4 kept, GTIDs on in
    GTID mode, no X Protocol listener (every instance would take port 33060), and an error log at
    verbosity 3, where a skipped replication error is the only trace it leaves. Position mode
    sets ``relay_log_recovery`` (a crashed replica fetches again what it had not applied rather
    than applying its relay log twice); ``skip_errors`` the runbook's ``replica_skip_errors``;
    ``tls`` serves TLS only (``require_secure_transport``: a TCP login without TLS is refused;
    the Unix socket stays open to root), with the node's certificate in its ``tls/``."""
    lines = [
        "[mysqld]",
        f"datadir={spec.dir / 'data'}",
        f"socket={spec.dir / 'mysqld.sock'}",
        f"pid-file={spec.dir / 'mysqld.pid'}",
        f"log-error={spec.log_path}",
        f"bind-address={spec.host}",
        f"port={spec.port}",
        "user=root",
        f"server_id={server_id}",
        f"log_bin={spec.dir / 'data' / 'binlog'}",
        "binlog_format=mixed",
        f"relay_log={spec.dir / 'data' / 'relay-bin'}",
        "skip-name-resolve",
        "innodb_buffer_pool_size=64M",
        "innodb_flush_log_at_trx_commit=1",
        "sync_binlog=1",
        "max_connections=500",
    ]
    if tls:
        lines += [f"ssl_ca={spec.dir / 'tls' / tls_files.CA_FILE}", f"ssl_cert={spec.dir / 'tls' / tls_files.CERT_FILE}",
                  f"ssl_key={spec.dir / 'tls' / tls_files.KEY_FILE}", "require_secure_transport=ON"]
    if family == "mysql":
        lines += ["log_replica_updates=ON", "skip_replica_start=ON", "mysqlx=OFF", f"secure_file_priv={spec.dir}",
                  "log_error_verbosity=3"]
        lines += ["gtid_mode=ON", "enforce_gtid_consistency=ON"] if replication == "gtid" else ["gtid_mode=OFF"]
    else:
        lines += ["log_slave_updates=1", "skip-slave-start"]
    if replica:
        lines.append("read_only=1")
        if replication == "position":
            lines.append("relay_log_recovery=ON")
        if skip_errors:
            lines.append(f"{'replica' if family == 'mysql' else 'slave'}_skip_errors={skip_errors}")
    return "\n".join(lines) + "\n"


class MysqlReplication(Topology):
    """Provision, inspect and tear down a source → replica pair on a backend."""

    NAME = NAME
    CONFIG = MysqlReplicationConfig
    attached = False  # a pair the harness did not start (chaos.topology.attach_mysql)
    admin_user = ADMIN_USER
    workload_db = "chaos"  # the workload's table (loadgen.mysql_workload)
    meta_db = META_DB  # the heartbeat table
    compare_dbs: set[str] | None = None  # databases compare_tables checks (None: every non-system one)
    STOP_TIMEOUT = 30.0  # InnoDB shuts down cleanly
    STOP_REPLICAS_FIRST = True
    STATUS_COLUMNS = ["name", "address", "role", "follows", "io_thread", "sql_thread", "lag", "gtid", "pid",
                      "process"]

    def __init__(self, state: StateDir, config: MysqlReplicationConfig, backend: Any = None):
        self.state = state
        self.config = config
        self.backend = backend or ProcessBackend(state.path)
        self._make_specs()
        self._secrets: dict[str, str] | None = None
        self._dialect: Dialect | None = None

    def _make_specs(self) -> None:
        config = self.config
        base = ipaddress.IPv4Address(config.base_host)
        root = self.state.topology_dir(NAME)
        self.family = (config.image_info or {}).get("family") or parse_server(config.version, "mysql").family.name
        self.specs = []
        for i in range(2):
            name = f"mysql-{i + 1}"
            image = self.image_info_of(i)
            binary = image.get("binary") or (parse_server(config.version, "mysql").family.binary if config.version
                                             else config.server)
            extra = list(image.get("args") or [])  # the image's own arguments to the server, after the harness's file
            self.specs.append(NodeSpec(
                name=name, kind="mysql", host=str(base + i), port=config.base_port + i, dir=root / name,
                argv=[binary, f"--defaults-file={root / name / 'my.cnf'}", *extra], log_file="error.log",
                image=(config.image_replica or config.image) if i == 1 else config.image,
            ))

    def image_info_of(self, index: int) -> dict:
        """What the harness found in the image of node ``index`` (0: the first source, 1: the
        first replica, which --image-replica may give an image of its own); {} for its images."""
        if index == 1 and self.config.image_replica_info:
            return self.config.image_replica_info
        return self.config.image_info or {}

    @property
    def source(self) -> NodeSpec:
        """The node that is the source now (a role: source-kill promotes the replica)."""
        return next((s for s in self.specs if s.name == self.config.source_node), self.specs[0])

    @property
    def replica(self) -> NodeSpec:
        return next(s for s in self.specs if s is not self.source)

    def roles_note(self) -> str | None:
        """What `chaos down` and `chaos status` say when a run promoted the replica."""
        if self.source is self.specs[0]:
            return None
        return (f"{self.source.name} ({self.source.address}) is the source now: a source-kill run promoted it; "
                f"{self.replica.name} was the source")

    def swap_roles(self) -> None:
        """Record that the replica is the source now, in state.json and in both servers' my.cnf
        (the new source starts writable, the old one read-only, as an operator would leave them)."""
        old, new = self.source, self.replica
        self.config.source_node = new.name
        for spec, read_only in ((new, False), (old, True)):
            set_read_only_in_cnf(spec.dir / "my.cnf", read_only)
        self.save()

    @property
    def tls_ca(self) -> Path | None:
        """The CA the harness verifies the servers against (--tls), or None (plain TCP)."""
        return self.state.topology_dir(NAME) / "tls" / tls_files.CA_FILE if self.config.tls else None

    def client_tls(self) -> dict[str, Any]:
        """PyMySQL's TLS arguments for every client of the pair (the load, the client view)."""
        return tls_files.pymysql_args(self.tls_ca)

    def replication_ca(self, replica: NodeSpec) -> str | None:
        """The CA file a replica's IO thread verifies its source with, in the replica's own directory."""
        return str(replica.dir / "tls" / tls_files.CA_FILE) if self.config.tls else None

    @property
    def secrets_path(self) -> Path:
        return self.state.topology_dir(NAME) / "secrets.json"

    @property
    def secrets(self) -> dict[str, str]:
        if self._secrets is None:
            try:
                self._secrets = json.loads(self.secrets_path.read_text())
            except (OSError, ValueError):
                raise ChaosError(f"cannot read {self.secrets_path}; run `chaos down` and `chaos up "
                                 "mysql-replication` again") from None
        return self._secrets



    # -- connections -------------------------------------------------------------------------
    def admin(self, spec: NodeSpec, timeout: float = 5.0, database: str | None = None) -> pymysql.Connection:
        """Admin connection over TCP with the generated credentials; one-line errors."""
        return connect(spec.host, spec.port, self.admin_user, self.secrets["admin"], database, timeout,
                       tls=self.client_tls())

    def _root(self, spec: NodeSpec) -> pymysql.Connection:
        return pymysql.connect(unix_socket=str(spec.dir / "mysqld.sock"), user="root", password="",
                               autocommit=True, connect_timeout=5)

    # -- up / down ---------------------------------------------------------------------------
    def up(self, timeout: float = 60.0, say: Say = quiet) -> float:
        self.config.validate()
        self.state.ensure()
        if self.state.topology(NAME) is not None:
            raise AlreadyUp(f"a mysql-replication is already up in {self.state.path}; use it, or run "
                            "`chaos down` first")
        if self.config.image_ref:
            resolved = self.own_image(say)
        else:
            resolved = self.backend.require("mysql", parse_server(self.config.version, "mysql"))
        if self.backend.name == "docker":
            self.config.image = resolved
            if self.config.image_replica_ref:
                self.config.image_replica = self.replica_image(say)
            for i, spec in enumerate(self.specs):
                spec.image = (self.config.image_replica or resolved) if i == 1 else resolved
        for spec in self.specs:
            self.backend.check_ports(spec)
        started = time.monotonic()
        self.save()
        try:
            root = self.state.topology_dir(NAME)
            root.mkdir(parents=True, exist_ok=True)
            self._secrets = {"admin": secrets.token_urlsafe(18), "repl": secrets.token_urlsafe(18)}
            fd = os.open(self.secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(self._secrets, out)
            made = tls_files.make_certificates(root / "tls", [x.host for x in self.specs], NAME) \
                if self.config.tls else None
            for i, spec in enumerate(self.specs):
                if spec.dir.exists():
                    shutil.rmtree(spec.dir)
                (spec.dir / "data").mkdir(parents=True)
                if made is not None:
                    tls_files.copy_to(made, spec.dir / "tls")
                kept = self.image_info_of(i).get("conf")
                (spec.dir / "my.cnf").write_text((f"!include {kept}\n" if kept else "") + server_config(
                    spec, i + 1, replica=i > 0, family=self.family, replication=self.config.replication,
                    skip_errors=self.config.replica_skip_errors, tls=self.config.tls))
                code, output = self.backend.run_tool("mysql", self._initialise(spec), spec.dir, image=spec.image)
                if code != 0:
                    raise TopologyError(f"initialising {spec.name} failed ({self._initialise(spec)[0]}): "
                                        f"{output.strip().splitlines()[-1:] or 'no output'}")
                self.backend.start(spec, ready_timeout=timeout)
                self.save()
                self._create_users(spec)
            say(f"started {self.specs[0].argv[0]} source {self.source.address} and replica {self.replica.address}")
            self._start_replication()
            self.wait_replicating(timeout)
        except BaseException:
            self.down()
            raise
        return time.monotonic() - started

    def own_image(self, say: Say) -> str:
        """--image: inspect (and pull) the user's image; its binary says MariaDB or MySQL."""
        if self.backend.name != "docker":
            raise ChaosError("--image needs --backend docker")
        from chaos.image_ref import inspect_image

        info = inspect_image(self.backend.client, self.config.image_ref, "mysql", say)
        self.config.image_info = info.to_dict()
        self._make_specs()
        say(f"image {info.ref}: {info.binary} {info.version} ({info.family})"
            + (f", its option file {info.conf} kept" if info.conf else "")
            + (f", its arguments {' '.join(info.args)} kept" if info.args else ""))
        return info.ref

    def replica_image(self, say: Say) -> str:
        """--image-replica: the first replica's own image (an upgrade rehearsal: a newer server
        replicating from the old one); the same server family as the source."""
        from chaos.image_ref import inspect_image

        info = inspect_image(self.backend.client, self.config.image_replica_ref, "mysql", say)
        if info.family != self.family:
            raise ChaosError(f"--image-replica {info.ref} holds {info.family} {info.version}, but the source runs "
                             f"{self.family}: a replica must be the same server family")
        self.config.image_replica_info = info.to_dict()
        self._make_specs()
        say(f"replica image {info.ref}: {info.binary} {info.version}"
            + (f", its option file {info.conf} kept" if info.conf else ""))
        return info.ref

    def _initialise(self, spec: NodeSpec) -> list[str]:
        """The command that creates a node's data directory (root on the socket, no password)."""
        if self.family == "mysql":  # --defaults-file first: Debian's /etc/mysql would pull in /var/run/mysqld
            return ["mysqld", f"--defaults-file={spec.dir / 'my.cnf'}", "--initialize-insecure", "--user=root"]
        return ["mariadb-install-db", "--no-defaults", f"--datadir={spec.dir / 'data'}", "--user=root",
                "--auth-root-authentication-method=normal", "--skip-name-resolve", "--skip-test-db"]

    def _create_users(self, spec: NodeSpec) -> None:
        conn = self._root(spec)
        with conn.cursor() as cur:
            cur.execute("SET sql_log_bin=0")  # the same users on both servers: never replicated
            cur.execute("SELECT User, Host FROM mysql.user WHERE User=''")
            for user, host in cur.fetchall():  # anonymous accounts shadow 'x'@'%' from localhost
                cur.execute("DROP USER %s@%s", (user, host))
            require = " REQUIRE SSL" if self.config.tls else ""  # a login without TLS refused, whatever the server
            cur.execute(f"CREATE USER %s@'%%' IDENTIFIED BY %s{require}", (ADMIN_USER, self.secrets["admin"]))
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (ADMIN_USER,))
            cur.execute(f"CREATE USER %s@'%%' IDENTIFIED BY %s{require}", (REPL_USER, self.secrets["repl"]))
            cur.execute("GRANT REPLICATION SLAVE ON *.* TO %s@'%%'", (REPL_USER,))
        conn.close()

    def server_version(self, conn: pymysql.Connection) -> str:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return cur.fetchone()[0]

    def server_version_of(self, spec: NodeSpec) -> str:
        conn = self.admin(spec)
        try:
            return self.server_version(conn)
        finally:
            conn.close()

    @property
    def dialect(self) -> Dialect:
        """How this pair's servers spell replication, from the replica's own version string."""
        if self._dialect is None:
            conn = self.admin(self.replica)
            try:
                self._dialect = dialect_of(self.server_version(conn))
            finally:
                conn.close()
        return self._dialect

    @property
    def by_gtid(self) -> bool:
        """Whether the replica replicates by GTID (or by the source's binary log position)."""
        return self.config.replication == "gtid"

    def binlog_status(self) -> tuple[str, int]:
        """The source's binary log file and position, as the source says them."""
        conn = self.admin(self.source)
        try:
            with conn.cursor() as cur:
                cur.execute(self.dialect.binlog_status_sql)
                row = cur.fetchone()
        finally:
            conn.close()
        if not row:
            raise TopologyError(f"{self.source.address} has no binary log ({self.dialect.binlog_status_sql} is "
                                "empty): it cannot be a source; start it with log_bin")
        return str(row[0]), int(row[1])

    def source_serves_tls(self) -> bool:
        """Whether the source accepts TLS logins (MariaDB's ``have_ssl``; MySQL always does)."""
        if self.dialect.name != "mariadb":
            return True
        conn = self.admin(self.source)
        try:
            return str(scalar(conn, "SELECT @@have_ssl")).upper() == "YES"
        finally:
            conn.close()

    def _start_replication(self) -> None:
        at = None if self.by_gtid else self.binlog_status()
        conn = self.admin(self.replica)
        src = self.source
        with conn.cursor() as cur:
            cur.execute(*self.dialect.change_source(src.host, src.port, REPL_USER, self.secrets["repl"], at,
                                                    tls=self.source_serves_tls(), ca=self.replication_ca(self.replica)))
            cur.execute(self.dialect.start_replica_sql)
        conn.close()
        conn = self.admin(self.source)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {META_DB}")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {META_DB}.heartbeat (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)")
            cur.execute(f"REPLACE INTO {META_DB}.heartbeat VALUES (1, NOW(6))")
        conn.close()

    def replica_status(self, conn: pymysql.Connection | None = None) -> dict[str, Any]:
        """The replica's status in neutral names (:data:`chaos.topology.mysql_dialect.STATUS_FIELDS`;
        {} when replication is not configured)."""
        own = conn is None
        conn = conn or self.admin(self.replica)
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(self.dialect.replica_status_sql)
                row = cur.fetchone() or {}
        finally:
            if own:
                conn.close()
        return self.dialect.replica_status(row)

    def replication_problems(self) -> list[str]:
        problems = []
        for spec in self.specs:
            if self.backend.status(spec.name) != NodeStatus.RUNNING:
                problems.append(f"{spec.name} ({spec.address}) is {self.backend.status(spec.name)}")
        if problems:
            return problems
        status = self.replica_status()  # wrong credentials: its own one-line error
        if status.get("io_running") != "Yes":
            problems.append(f"replica IO thread: {status.get('io_running')} "
                            f"({status.get('last_io_error') or 'no error'})")
        if status.get("sql_running") != "Yes":
            problems.append(f"replica SQL thread: {status.get('sql_running')} "
                            f"({status.get('last_sql_error') or 'no error'})")
        return problems

    def wait_replicating(self, timeout: float = 60.0) -> None:
        if wait_until(lambda: not self.replication_problems(), timeout, 0.1, retry_on=(ChaosError,)):
            return
        try:
            problem = (self.replication_problems() or ["no detail"])[0]
        except ChaosError as exc:
            problem = str(exc)
        raise TopologyError(f"replication did not start within {timeout:.0f} s ({problem}); "
                            f"see {self.replica.log_path}")


    # -- inspection --------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        rows = []
        for spec in self.specs:
            process = self.backend.status(spec.name)
            is_source = spec is self.source
            row: dict[str, Any] = {"name": spec.name, "address": spec.address,
                                   "role": "source" if is_source else "replica",
                                   "follows": None if is_source else self.source.name, "io_thread": None,
                                   "sql_thread": None, "lag": None, "gtid": None,
                                   "pid": self.backend.pid(spec.name), "process": process}
            rows.append(row)
            if process != NodeStatus.RUNNING:
                continue
            try:
                conn = self.admin(spec, timeout=2)
            except ChaosError as exc:
                row["error"] = str(exc)
                continue
            dialect = self.dialect
            with conn.cursor() as cur:
                cur.execute(f"SELECT {dialect.source_position}, {dialect.executed_position}, VERSION()")
                written, applied, version = cur.fetchone()
            row["server"] = version
            row["gtid"] = written if is_source else applied
            if not is_source:
                s = self.replica_status(conn)
                row.update(io_thread=s.get("io_running"), sql_thread=s.get("sql_running"),
                           lag=s.get("seconds_behind"))
                if not self.dialect.uses_gtid(s):
                    row["position"] = dialect.applied_position(s)
            conn.close()
        return rows


def set_read_only_in_cnf(path: Path, read_only: bool) -> None:
    """Turn ``read_only=1`` on or off in a node's my.cnf (applies at its next start)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("read_only=")]
    if read_only:
        lines.append("read_only=1")
    path.write_text("\n".join(lines) + "\n")


def connect(host: str, port: int, user: str, password: str, database: str | None = None,
            timeout: float = 5.0, tls: dict[str, Any] | None = None) -> pymysql.Connection:
    """A connection with one-line errors; ``tls``: PyMySQL's TLS arguments (:func:`chaos.tls.pymysql_args`)."""
    try:
        return pymysql.connect(host=host, port=port, user=user, password=password, database=database,
                               autocommit=True, connect_timeout=timeout, read_timeout=30, write_timeout=30,
                               **(tls or {}))
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else 0
        if not tls and re.search(r"secure.transport", str(exc.args[-1] if exc.args else exc), re.I):
            raise ChaosError(f"MySQL at {host}:{port} accepts only TLS connections (require_secure_transport): "
                             "give --tls-ca with the CA that signed its certificate") from None
        if code == 1045:
            raise ChaosError(f"MySQL at {host}:{port} refused the credentials of {user!r} (access denied); "
                             + ("check the variable given to --password-env" if user != ADMIN_USER else
                                "the saved password does not match the server: run `chaos down` and up again")
                             ) from None
        raise ChaosError(f"cannot connect to MySQL at {host}:{port} ({exc.args[-1] if exc.args else exc})") from None


def scalar(conn: pymysql.Connection, sql: str, args: tuple = ()) -> Any:
    """The first column of the first row of ``sql`` (None when it returns no row)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    return row[0] if row else None


def source_position(topo: MysqlReplication) -> str:
    """What the source has written: its GTID set, or (position replication) its binary log
    coordinates ``file@pos``."""
    if not topo.by_gtid:
        return binlog_position(*topo.binlog_status())
    conn = topo.admin(topo.source)
    try:
        return scalar(conn, f"SELECT {topo.dialect.source_position}")
    finally:
        conn.close()


def replica_progress(topo: MysqlReplication, target: str) -> str:
    """Why a wait for ``target`` may not have ended, in a few words: what the replica applied,
    and what its threads say ("applied 0-1-7 of 0-1-9; SQL thread Yes: Waiting for table
    metadata lock; IO thread Yes")."""
    conn = None
    try:
        conn = topo.admin(topo.replica)
        status = topo.replica_status(conn)
        applied = topo.dialect.applied_position(status) if parse_binlog_position(target) is not None \
            else scalar(conn, f"SELECT {topo.dialect.executed_position}")
    except (ChaosError, pymysql.Error) as exc:
        return f"the replica does not answer ({exc})"
    finally:
        if conn is not None:
            conn.close()
    note = (f"applied {applied or 'nothing'} of {target}; SQL thread {status.get('sql_running')}"
            f"{': ' + status['sql_state'] if status.get('sql_state') else ''}")
    if status.get("last_sql_error"):
        note += f" (error {status.get('last_sql_errno')}: {status['last_sql_error']})"
    note += f"; IO thread {status.get('io_running')}"
    if status.get("last_io_error"):
        note += f" (error {status.get('last_io_errno')}: {status['last_io_error']})"
    return note


def wait_replica_reached(topo: MysqlReplication, target: str, timeout: float = 60.0) -> bool:
    """Wait until the replica has executed everything up to the source's ``target`` (GTID set
    containment, or the applier's source position at or past ``file@pos``); False at once when
    its SQL thread stopped on an error (nothing will be applied any more)."""
    broken: list[str] = []

    def reached() -> bool:
        conn = topo.admin(topo.replica)
        try:
            status = topo.replica_status(conn)
            if status.get("sql_running") == "No" and status.get("last_sql_errno"):  # it will never get there
                broken.append(f"error {status['last_sql_errno']}")
                return True
            if parse_binlog_position(target) is not None:
                return position_reached(topo.dialect.applied_position(status), target)
            return gtid_reached(scalar(conn, f"SELECT {topo.dialect.executed_position}"), target)
        finally:
            conn.close()

    return bool(wait_until(reached, timeout, 0.05, retry_on=(ChaosError,))) and not broken
