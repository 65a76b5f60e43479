"""Servers built the way operators' runbooks build them, by hand and without the harness:
``redis-node-N`` containers on the host network joined with ``redis-cli --cluster create``,
plain ``redis-server`` processes, and a ``mysql-master`` / ``mysql-slave`` pair with its own
``my.cnf`` replicating by binlog position. Used by the ``--attach`` tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pymysql
import redis

REDIS_IMAGE, MYSQL_IMAGE, MYSQL97_IMAGE = "chaos/redis:7.0", "chaos/mariadb:10.11", "chaos/mysql:9.7"


def sh(*argv: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, **kw)


def docker_rm(*names: str) -> None:
    sh("docker", "rm", "-f", *names, check=False)


def wait(ok, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def cluster_create(ports: list[int], password: str | None = None) -> None:
    auth = ["-a", password] if password else []
    sh("redis-cli", *auth, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-replicas", "1",
       "--cluster-yes", env={**os.environ, "REDISCLI_AUTH": password or ""} if password else None)
    wait(lambda: cluster_ok(ports, password), 60, "the hand-built cluster did not become ok")


def cluster_ok(ports: list[int], password: str | None = None) -> bool:
    masters = replicas = 0
    for p in ports:
        c = redis.Redis(port=p, password=password, decode_responses=True, socket_timeout=2)
        if c.cluster("info")["cluster_state"] != "ok":
            return False
        repl = c.info("replication")
        if repl["role"] == "master":
            masters += 1
        elif repl.get("master_link_status") == "up":
            replicas += 1
    return masters == 3 and replicas == 3


def roles(ports: list[int], password: str | None = None) -> dict[int, str]:
    return {p: redis.Redis(port=p, password=password, decode_responses=True).info("replication")["role"]
            for p in ports}


def harness_keys(ports: list[int], password: str | None = None) -> int:
    return sum(len(list(redis.Redis(port=p, password=password).scan_iter(match="chaos:*", count=1000)))
               for p in ports)


# -- Redis ---------------------------------------------------------------------------------------
def redis_containers(ports: list[int], root: Path) -> list[str]:
    """``docker run -d --name redis-node-N --net host -v DIR:/data IMAGE redis-server
    --cluster-enabled yes --appendonly yes --port P`` (default cluster-node-timeout: 15 s)."""
    names = [f"redis-node-{i + 1}" for i in range(len(ports))]
    docker_rm(*names)
    for name, port in zip(names, ports):
        data = root / name
        data.mkdir(parents=True, exist_ok=True)
        sh("docker", "run", "-d", "--name", name, "--net", "host", "-v", f"{data}:/data", "-w", "/data", REDIS_IMAGE,
           "redis-server", "--cluster-enabled", "yes", "--appendonly", "yes", "--port", str(port))
    wait(lambda: all(redis.Redis(port=p).ping() for p in ports), 30, "redis-node containers did not start")
    cluster_create(ports)
    return names


def redis_processes(ports: list[int], root: Path, password: str, node_timeout_ms: int = 2000) -> None:
    """Plain ``redis-server --daemonize yes`` processes, each in its own directory, with a
    password (given in a config file, as a careful operator would)."""
    for port in ports:
        d = root / str(port)
        d.mkdir(parents=True, exist_ok=True)
        (d / "auth.conf").write_text(f"requirepass {password}\nmasterauth {password}\n")
        os.chmod(d / "auth.conf", 0o600)
        sh("redis-server", "auth.conf", "--port", str(port), "--cluster-enabled", "yes", "--appendonly", "yes",
           "--cluster-node-timeout", str(node_timeout_ms), "--logfile", "redis.log", "--daemonize", "yes",
           cwd=d, start_new_session=True)
    wait(lambda: all(redis.Redis(port=p, password=password).ping() for p in ports), 30,
         "hand-started redis-server processes did not answer")
    cluster_create(ports, password)


def kill_listeners(ports: list[int]) -> None:
    """Stop what listens on these ports (the hand-started servers), whatever their pid is now."""
    from chaos.backends.attached import listening_pid

    # a server the run just started again may not listen yet: look until nothing listened for 2 s
    quiet_since, deadline = None, time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [pid for pid in (listening_pid("127.0.0.1", port) for port in ports) if pid]
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if found:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 2:
            return
        time.sleep(0.5)


# -- MySQL ---------------------------------------------------------------------------------------
def my_cnf(port: int, datadir: Path, server_id: int, replica: bool) -> str:
    lines = ["[mysqld]", f"server_id={server_id}", "log-bin=mysql-bin", "binlog_format=mixed", f"port={port}",
             "bind-address=127.0.0.1", f"datadir={datadir}", f"socket={datadir}/mysqld.sock", "user=root",
             "skip-name-resolve", "innodb_buffer_pool_size=32M"]
    if replica:
        lines += ["relay_log=relay-bin", "read_only=1"]
    return "\n".join(lines + ["", "[client]", f"socket={datadir}/mysqld.sock", ""])


def _root(port: int) -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password=os.environ["RUNBOOK_PW"],
                           autocommit=True)


def _setup_users(sql: list[str], password: str, repl_password: str) -> None:
    sql += ["DELETE FROM mysql.global_priv WHERE User=''", "FLUSH PRIVILEGES",
            f"CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '{password}'",
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
            f"CREATE USER 'repl'@'%' IDENTIFIED BY '{repl_password}'",
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'"]


def _change_master(source_port: int, replica_port: int, repl_password: str) -> None:
    src = _root(source_port)
    with src.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        log_file, log_pos = cur.fetchone()[:2]
    rep = _root(replica_port)
    with rep.cursor() as cur:
        cur.execute("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='repl', "
                    "MASTER_PASSWORD=%s, MASTER_LOG_FILE=%s, MASTER_LOG_POS=%s",
                    (source_port, repl_password, log_file, log_pos))
        cur.execute("START SLAVE")
    wait(lambda: replication_running(replica_port), 60, "replication did not start")


def replication_running(port: int, word: str = "Slave") -> bool:
    """Both threads running, no error: ``word`` Slave (MariaDB) or Replica (MySQL 8.4+)."""
    conn = _root(port)
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(f"SHOW {word.upper()} STATUS")
        s = cur.fetchone() or {}
    conn.close()
    return s.get(f"{word}_IO_Running") == "Yes" and s.get(f"{word}_SQL_Running") == "Yes" and not s.get("Last_Errno")


def chaos_databases(port: int) -> list[str]:
    conn = _root(port)
    with conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'chaos%%'")
        return [r[0] for r in cur.fetchall()]


def _mysql_pair_dirs(root: Path) -> list[str]:
    """The runbook's container names, none running, each with an empty data directory under root."""
    names = ["mysql-master", "mysql-slave"]
    docker_rm(*names)
    for name in names:
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name / "data").mkdir(parents=True)
    return names


def mysql_containers(ports: tuple[int, int], root: Path, password: str, repl_password: str) -> list[str]:
    """``mysql-master`` and ``mysql-slave`` containers, each with its own my.cnf (server_id,
    log-bin, binlog_format=mixed, relay_log, read_only), then CHANGE MASTER TO by position."""
    names = _mysql_pair_dirs(root)
    for i, (name, port) in enumerate(zip(names, ports)):
        d = root / name
        (d / "my.cnf").write_text(my_cnf(port, Path("/var/lib/mysql"), i + 1, replica=i > 0))
        mounts = ["-v", f"{d / 'data'}:/var/lib/mysql", "-v", f"{d / 'my.cnf'}:/etc/mysql/my.cnf:ro"]
        sh("docker", "run", "--rm", *mounts, MYSQL_IMAGE, "mariadb-install-db", "--user=root",
           "--datadir=/var/lib/mysql", "--auth-root-authentication-method=normal", "--skip-test-db")
        sh("docker", "run", "-d", "--name", name, "--net", "host", *mounts, MYSQL_IMAGE, "mariadbd")
        wait(lambda n=name: sh("docker", "exec", n, "mariadb", "-e", "SELECT 1", check=False).returncode == 0, 60,
             f"{name} did not start")
        sql: list[str] = ["SET sql_log_bin=0"]
        _setup_users(sql, password, repl_password)
        sh("docker", "exec", name, "mariadb", "-e", ";".join(sql))
    _change_master(ports[0], ports[1], repl_password)
    return names


def mysql_processes(ports: tuple[int, int], root: Path, password: str, repl_password: str) -> None:
    """The same pair as plain ``mariadbd --defaults-file=...`` processes started by hand."""
    for i, port in enumerate(ports):
        d = root / f"mysql-{port}"
        shutil.rmtree(d, ignore_errors=True)
        (d / "data").mkdir(parents=True)
        (d / "my.cnf").write_text(my_cnf(port, d / "data", i + 1, replica=i > 0))
        sh("mariadb-install-db", f"--defaults-file={d / 'my.cnf'}", "--user=root",
           "--auth-root-authentication-method=normal", "--skip-test-db")
        subprocess.Popen(["mariadbd", f"--defaults-file={d / 'my.cnf'}"], cwd=d, stdin=subprocess.DEVNULL,
                         stdout=open(d / "stdout.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        sock = d / "data" / "mysqld.sock"
        wait(lambda s=sock: pymysql.connect(unix_socket=str(s), user="root").ping() is None, 60,
             f"mariadbd on {port} did not start")
        sql: list[str] = ["SET sql_log_bin=0"]
        _setup_users(sql, password, repl_password)
        conn = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
        with conn.cursor() as cur:
            for statement in sql:
                cur.execute(statement)
        conn.close()
    _change_master(ports[0], ports[1], repl_password)


# -- Oracle MySQL 9.7 ----------------------------------------------------------------------------
# The runbook's my.cnf, word for word, except what 9.7 refuses: expire_logs_days (removed in 8.2:
# an unknown option stops mysqld) → binlog_expire_logs_seconds. Its deprecated spellings
# (slave_skip_errors, log_slave_updates, binlog_format) still start a 9.7 server, so they stay.
RUNBOOK_97_CNF = """[mysqld]
server_id={server_id}
log-bin=mysql-bin
binlog_format=mixed
binlog_expire_logs_seconds=604800
slave_skip_errors=1062
relay_log=relay-bin
log_slave_updates=1
{read_only}port={port}
bind-address=127.0.0.1
datadir=/var/lib/mysql
socket=/var/lib/mysql/mysqld.sock
user=root
mysqlx=OFF

[client]
socket=/var/lib/mysql/mysqld.sock
"""


def _mysql97(name: str, sql: str) -> None:
    sh("docker", "exec", name, "mysql", "-uroot", "-e", sql)


def mysql97_containers(ports: tuple[int, int], root: Path, password: str, repl_password: str) -> list[str]:
    """``mysql-master`` (server id 101) and ``mysql-slave`` (102) on MySQL 9.7, each with the
    runbook's my.cnf; a ``slave`` user (caching_sha2_password: 9.0 has no mysql_native_password);
    ``CHANGE REPLICATION SOURCE TO`` the file and position the source shows, connect retry 30,
    ``GET_SOURCE_PUBLIC_KEY=1`` (plain TCP)."""
    names = _mysql_pair_dirs(root)
    for i, (name, port) in enumerate(zip(names, ports)):
        d = root / name
        (d / "my.cnf").write_text(RUNBOOK_97_CNF.format(server_id=101 + i, port=port,
                                                        read_only="read_only=1\n" if i else ""))
        mounts = ["-v", f"{d / 'data'}:/var/lib/mysql", "-v", f"{d / 'my.cnf'}:/etc/mysql/my.cnf:ro"]
        sh("docker", "run", "--rm", *mounts, MYSQL97_IMAGE, "mysqld", "--initialize-insecure", "--user=root")
        sh("docker", "run", "-d", "--name", name, "--net", "host", *mounts, MYSQL97_IMAGE, "mysqld")
        wait(lambda n=name: sh("docker", "exec", n, "mysql", "-uroot", "-e", "SELECT 1", check=False).returncode == 0,
             90, f"{name} did not start")
        _mysql97(name, "SET sql_log_bin=0; "
                 f"CREATE USER 'root'@'127.0.0.1' IDENTIFIED BY '{password}'; "
                 "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; "
                 f"CREATE USER 'slave'@'%' IDENTIFIED BY '{repl_password}'; "
                 "GRANT REPLICATION SLAVE ON *.* TO 'slave'@'%'")
    src = _root(ports[0])
    with src.cursor() as cur:
        cur.execute("SHOW BINARY LOG STATUS")
        log_file, log_pos = cur.fetchone()[:2]
    src.close()
    _mysql97(names[1], f"CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT={ports[0]}, "
             f"SOURCE_USER='slave', SOURCE_PASSWORD='{repl_password}', SOURCE_LOG_FILE='{log_file}', "
             f"SOURCE_LOG_POS={log_pos}, SOURCE_CONNECT_RETRY=30, GET_SOURCE_PUBLIC_KEY=1; START REPLICA")
    wait(lambda: replica97_running(ports[1]), 60, "replication did not start")
    return names


def replica97_running(port: int) -> bool:
    return replication_running(port, "Replica")
