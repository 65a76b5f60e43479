"""--attach / --source --replica against servers built by hand, the runbook way (see runbook.py):
the harness finds every node, faults it, brings it back, deletes what it wrote, and leaves the
rest as it found it."""

import json
import os
import subprocess

import pytest

from tests.conftest import chaos
from tests.integration import runbook

REDIS_DOCKER_PORTS = list(range(7711, 7717))
REDIS_PROCESS_PORTS = list(range(7721, 7727))
MYSQL_DOCKER_PORTS = (3361, 3362)
MYSQL_PROCESS_PORTS = (3371, 3372)
PASSWORD = "runbook-Secret-42"
REPL_PASSWORD = "repl-Secret-43"



def assert_secret_nowhere(*dirs):
    for d in dirs:
        for path in d.rglob("*"):
            if path.is_file():
                assert PASSWORD.encode() not in path.read_bytes(), f"the password leaked into {path}"
    for cmdline in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines():
        assert PASSWORD not in cmdline


@pytest.fixture
def docker_required():
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("these tests need a running Docker engine (./scripts/test starts one)")


def test_master_kill_attached_to_runbook_containers(state, tmp_path, docker_required):
    """Six redis-node-N containers, redis-cli --cluster create, the default 15 s node timeout."""
    names = runbook.redis_containers(REDIS_DOCKER_PORTS, tmp_path / "redis")
    try:
        shown = chaos(state, "status", "--attach", "redis://127.0.0.1:7711", "--backend", "docker")
        assert shown.exit_code == 0, shown.output
        assert "cluster-node-timeout 15000 ms" in shown.output and "container redis-node-2" in shown.output
        before = runbook.roles(REDIS_DOCKER_PORTS)
        out = tmp_path / "run"
        result = chaos(state, "run", "master-kill", "--attach", "redis://127.0.0.1:7711", "--backend", "docker",
                       "--target", "redis-node-1", "--duration", "10", "--warmup", "3", "--users", "8",
                       "--out", str(out))
        assert result.exit_code == 0, result.output
        r = json.loads((out / "result.json").read_text())
        m = r["measurements"]
        assert r["passed"] and r["topology"]["attached"]["target"] == "127.0.0.1:7711"
        # failover with the default node timeout: 15 s + FAIL gossip + election, as the promoted node logged it
        assert 15.0 <= m["failover_seconds"] <= 30.0
        assert abs(m["failover_seconds"] - m["failover_seconds_from_log"]) <= 0.5
        assert m["lost_writes"] == 0 and m["rejoin_seconds"] is not None
        # left as found: every container running, cluster ok 3+3, the old master now a replica, no key of the run
        running = runbook.sh("docker", "ps", "--format", "{{.Names}}").stdout.split()
        assert set(names) <= set(running)
        assert runbook.cluster_ok(REDIS_DOCKER_PORTS)
        after = runbook.roles(REDIS_DOCKER_PORTS)
        assert before[7711] == "master" and after[7711] == "slave"
        assert runbook.harness_keys(REDIS_DOCKER_PORTS) == 0
        assert "deleted" in result.output and "redis-node-1 is now a replica" in result.output
        assert json.loads(state.file.read_text())["topologies"] == {}
    finally:
        runbook.docker_rm(*names)


def test_master_kill_attached_to_hand_started_processes_with_password(state, tmp_path):
    """Plain redis-server processes (daemonized, with requirepass): found through /proc, started
    again from the configuration they had, password only ever in the environment."""
    runbook.redis_processes(REDIS_PROCESS_PORTS, tmp_path / "redis", PASSWORD)
    try:
        out = tmp_path / "run"
        no_password = chaos(state, "run", "master-kill", "--attach", "redis://127.0.0.1:7721", "--out",
                            str(tmp_path / "refused"))
        assert no_password.exit_code == 2 and "needs a password" in no_password.output
        result = chaos(state, "run", "master-kill", "--attach", "redis://127.0.0.1:7721", "--password-env", "RB_PW",
                       "--duration", "8", "--warmup", "2", "--users", "8", "--out", str(out),
                       env={"RB_PW": PASSWORD})
        assert result.exit_code == 0, result.output
        assert "CHAOS_REDIS_PASSWORD" not in os.environ  # the password left with the run (runs share processes)
        r = json.loads((out / "result.json").read_text())
        m = r["measurements"]
        assert r["passed"] and m["lost_writes"] == 0 and m["consistency"]["consistent"]
        assert abs(m["failover_seconds"] - m["failover_seconds_from_log"]) <= 0.5
        victim = r["fault"]["target"]
        port = int(victim.rsplit(":", 1)[1])
        assert runbook.cluster_ok(REDIS_PROCESS_PORTS, PASSWORD)
        assert runbook.roles(REDIS_PROCESS_PORTS, PASSWORD)[port] == "slave"
        assert runbook.harness_keys(REDIS_PROCESS_PORTS, PASSWORD) == 0
        # the restarted server is the user's: same directory, not marked as the harness's
        from chaos.backends.attached import listening_pid

        pid = listening_pid("127.0.0.1", port)
        assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path / "redis" / str(port))
        assert b"CHAOS_OWNER" not in open(f"/proc/{pid}/environ", "rb").read()
        down = chaos(state, "down")
        assert down.exit_code == 0 and listening_pid("127.0.0.1", port) == pid  # down leaves it running
        assert_secret_nowhere(out, state.path)
    finally:
        runbook.kill_listeners(REDIS_PROCESS_PORTS)


def test_attach_refusals(state, tmp_path):
    far = chaos(state, "run", "master-kill", "--attach", "redis://192.0.2.1:7001", "--out", str(tmp_path / "a"))
    assert far.exit_code == 2 and "not a loopback address" in far.output and "--allow-remote" in far.output
    nobody = chaos(state, "run", "master-kill", "--attach", "redis://127.0.0.1:7799", "--out", str(tmp_path / "b"))
    assert nobody.exit_code == 2 and "cannot talk to Redis at 127.0.0.1:7799" in nobody.output
    in_url = chaos(state, "run", "master-kill", "--attach", "redis://u:pw@127.0.0.1:7001", "--out",
                   str(tmp_path / "c"))
    assert in_url.exit_code == 2 and "must not carry a password" in in_url.output
    half = chaos(state, "run", "replica-stop", "--source", "mysql://root@127.0.0.1:3361", "--out", str(tmp_path / "d"))
    assert half.exit_code == 2 and "--replica" in half.output


def _replica_stop_attached(state, tmp_path, ports, backend):
    out = tmp_path / "run"
    result = chaos(state, "run", "replica-stop", "--source", f"mysql://root@127.0.0.1:{ports[0]}",
                   "--replica", f"mysql://root@127.0.0.1:{ports[1]}", "--password-env", "RUNBOOK_PW",
                   "--backend", backend, "--mode", "stop", "--down-seconds", "3", "--duration", "8", "--warmup", "2",
                   "--rate", "300", "--out", str(out), env={"RUNBOOK_PW": PASSWORD})
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["passed"] and m["lost_rows"] == 0 and m["checksum_match"] and m["catchup_seconds"] is not None
    assert r["topology"]["attached"]["replication"] == "binlog position"
    assert [t["database"] for t in m["tables"]["tables"]] == [r["topology"]["attached"]["database"]] * 2
    assert runbook.replication_running(ports[1])
    assert runbook.chaos_databases(ports[0]) == [] and runbook.chaos_databases(ports[1]) == []
    assert_secret_nowhere(out, state.path)
    return result


def test_replica_stop_attached_to_runbook_containers(state, tmp_path, docker_required, monkeypatch):
    monkeypatch.setenv("RUNBOOK_PW", PASSWORD)
    names = runbook.mysql_containers(MYSQL_DOCKER_PORTS, tmp_path / "mysql", PASSWORD, REPL_PASSWORD)
    try:
        result = _replica_stop_attached(state, tmp_path, MYSQL_DOCKER_PORTS, "docker")
        assert "container mysql-slave" in result.output
        running = runbook.sh("docker", "ps", "--format", "{{.Names}}").stdout.split()
        assert set(names) <= set(running)
    finally:
        runbook.docker_rm(*names)


def test_replica_stop_attached_to_hand_started_processes(state, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNBOOK_PW", PASSWORD)
    runbook.mysql_processes(MYSQL_PROCESS_PORTS, tmp_path / "mysql", PASSWORD, REPL_PASSWORD)
    try:
        _replica_stop_attached(state, tmp_path, MYSQL_PROCESS_PORTS, "process")
        # Oracle MySQL asked of a MariaDB pair (the other way round: the 9.7 runbook test)
        source, replica = (f"mysql://root@127.0.0.1:{p}" for p in MYSQL_PROCESS_PORTS)
        bad = chaos(state, "run", "replica-stop", "--source", source, "--replica", replica, "--password-env",
                    "RUNBOOK_PW", "--server", "mysql:9.7", "--out", str(tmp_path / "not-mysql"))
        assert bad.exit_code == 2 and "runs MariaDB" in bad.output and len(bad.output.strip().splitlines()) == 1, \
            bad.output
    finally:
        runbook.kill_listeners(list(MYSQL_PROCESS_PORTS))


MYSQL97_PORTS = (3381, 3382)


def test_replica_stop_attached_to_the_runbooks_mysql_9_7_pair(state, tmp_path, docker_required, monkeypatch):
    """The runbook's pair on Oracle MySQL 9.7 (mysql-master / mysql-slave, its my.cnf with only
    expire_logs_days replaced, a `slave` user, position replication): the run passes, names what
    the settings risk, restarts the replica (the first plain-TCP caching_sha2_password login after
    it takes the full path), leaves replication running and no chaos_* database; what the user says
    of the pair that it is not, and a refused password, are one-line errors with exit 2."""
    monkeypatch.setenv("RUNBOOK_PW", PASSWORD)
    names = runbook.mysql97_containers(MYSQL97_PORTS, tmp_path / "mysql97", PASSWORD, REPL_PASSWORD)
    source, replica = (f"mysql://root@127.0.0.1:{p}" for p in MYSQL97_PORTS)
    attach = ["--source", source, "--replica", replica, "--password-env", "RUNBOOK_PW", "--backend", "docker"]
    try:
        out = tmp_path / "run"
        # paced below what this pair's single applier keeps up with on a busy 2-core machine (at the
        # default 1000 ops/s a CI run saw the lag grow to 44 s and, rightly, no catch-up in time)
        result = chaos(state, "run", "replica-stop", *attach, "--mode", "stop", "--down-seconds", "3", "--duration",
                       "8", "--warmup", "2", "--rate", "300", "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "container mysql-slave" in result.output
        r = json.loads((out / "result.json").read_text())
        m = r["measurements"]
        assert r["passed"] and r["topology"]["server_version"].startswith("9.7.")
        assert r["topology"]["replication"] == "position" and r["topology"]["attached"]["replication"] == \
            "binlog position"
        assert m["lost_rows"] == 0 and m["checksum_match"] and m["catchup_seconds"] is not None
        assert "@" in r["context"]["target_gtid"]  # judged by binary log coordinates
        assert {f["setting"] for f in m["findings"]} >= {"replica_skip_errors", "super_read_only",
                                                         "relay_log_recovery", "binlog_format"}
        # the harness cannot read this server's error log: unknown, never 0
        assert m["skipped_replication_errors"] == "unknown" and "only witness" in m["skipped_replication_errors_note"]
        assert runbook.replica97_running(MYSQL97_PORTS[1])
        assert runbook.chaos_databases(MYSQL97_PORTS[0]) == [] and runbook.chaos_databases(MYSQL97_PORTS[1]) == []
        assert_secret_nowhere(out, state.path)
        running = runbook.sh("docker", "ps", "--format", "{{.Names}}").stdout.split()
        assert set(names) <= set(running)

        refusals = {
            "mariadb": (["--server", "mariadb:10.11"], "runs MySQL 9.7"),
            "gtid": (["--replication", "gtid"], "replicates by position"),
        }
        for what, (extra, says) in refusals.items():
            bad = chaos(state, "run", "replica-stop", *attach, *extra, "--out", str(tmp_path / what))
            # refused before anything is recorded or written: the error is the only line
            assert bad.exit_code == 2 and says in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output
        swapped = chaos(state, "run", "replica-stop", "--source", replica, "--replica", source, "--password-env",
                        "RUNBOOK_PW", "--backend", "docker", "--out", str(tmp_path / "swapped"))
        assert swapped.exit_code == 2 and "is not a replica" in swapped.output, swapped.output
        wrong = chaos(state, "run", "replica-stop", *attach, "--out", str(tmp_path / "wrong"),
                      env={"RUNBOOK_PW": "not-the-password"})
        assert wrong.exit_code == 2 and "refused the credentials" in wrong.output, wrong.output
        assert "Traceback" not in wrong.output + swapped.output
        assert runbook.replica97_running(MYSQL97_PORTS[1]) and runbook.chaos_databases(MYSQL97_PORTS[0]) == []
    finally:
        runbook.docker_rm(*names)
