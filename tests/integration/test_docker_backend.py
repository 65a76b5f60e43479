"""The docker backend against a real Docker engine (started by ./scripts/test when needed):
containers on the host network, one per node, image built locally."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from chaos.backends.docker import DockerBackend
from chaos.cli import cli
from chaos.errors import ChaosError
from chaos.topology.redis_cluster import RedisCluster
from tests.integration import evidence


@pytest.fixture
def docker_state(torn_down):
    backend = DockerBackend(torn_down.path)
    try:
        backend.require("redis")
        backend.require("mysql")
    except ChaosError as exc:
        pytest.fail(f"the docker backend tests need a Docker engine and the image: {exc}")
    return torn_down


def containers(backend):
    return [c.name for c in backend.client.containers.list(all=True, filters={"label": f"chaos.scope={backend.scope}"})]


def test_docker_cluster_up_kill_pause_restart_down(docker_state):
    state = docker_state
    result = CliRunner().invoke(cli, ["--state-dir", str(state.path), "up", "redis-cluster", "--backend", "docker",
                                      "--base-port", "7801"])
    assert result.exit_code == 0, result.output
    cluster = RedisCluster.load(state)
    assert cluster.backend.name == "docker"
    assert len(containers(cluster.backend)) == 6
    rows = json.loads(CliRunner().invoke(cli, ["--state-dir", str(state.path), "status", "--json"]).output)
    assert sorted(r["role"] for r in rows) == ["master"] * 3 + ["replica"] * 3
    backend = cluster.backend
    backend.pause("redis-4")
    assert backend.status("redis-4") == "paused"
    backend.resume("redis-4")
    backend.kill("redis-1")
    assert backend.status("redis-1") == "stopped"
    backend.restart("redis-1")  # same container, same data dir and nodes.conf
    assert backend.status("redis-1") == "running"
    cluster.wait_healthy(30)
    result = CliRunner().invoke(cli, ["--state-dir", str(state.path), "down"])
    assert result.exit_code == 0 and "stopped 6 node(s)" in result.output
    assert containers(backend) == []


def test_master_kill_on_docker(docker_state, tmp_path):
    out = tmp_path / "docker-run"
    result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "run", "master-kill", "--backend",
                                      "docker", "--base-port", "7801", "--node-timeout-ms", "1000", "--duration", "6",
                                      "--warmup", "2", "--users", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["backend"] == "docker" and r["passed"]
    assert 1.0 <= m["failover_seconds"] <= 6.0
    assert abs(m["failover_seconds"] - m["failover_seconds_from_log"]) <= 0.25
    assert m["rejoin_seconds"] is not None and m["lost_writes"] == 0
    assert containers(DockerBackend(docker_state.path)) == []


def test_docker_not_running_is_one_line(state, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = CliRunner().invoke(cli, ["--state-dir", str(state.path), "up", "redis-cluster", "--backend", "docker"])
    assert result.exit_code == 2
    assert result.output.startswith("chaos: error: cannot reach the Docker engine") and result.output.count("\n") == 1
    assert state.topology("redis-cluster") is None


def test_missing_image_says_how_to_build_it(docker_state):
    result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "up", "redis-cluster",
                                      "--backend", "docker", "--server", "redis:6.2"])
    assert result.exit_code == 2
    assert "chaos/redis:6.2 is missing" in result.output and "chaos images build redis" in result.output
    result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "up", "redis-cluster",
                                      "--backend", "docker", "--server", "mariadb"])
    assert result.exit_code == 2 and "not a server for this topology" in result.output




def test_replica_stop_on_docker(docker_state, tmp_path):
    out = tmp_path / "docker-mysql"
    result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "run", "replica-stop", "--backend",
                                      "docker", "--base-port", "3337", "--mode", "kill", "--duration", "6",
                                      "--warmup", "2", "--down-seconds", "2", "--users", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["backend"] == "docker" and r["passed"]
    assert m["max_lag_seconds"] >= 0.5 * m["replica_down_seconds"] and m["catchup_seconds"] is not None
    assert m["lost_rows"] == 0 and m["checksum_match"] is True
    assert containers(DockerBackend(docker_state.path)) == []


@pytest.mark.parametrize("mode", ["sql-thread", "kill"])
def test_replica_stop_on_oracle_mysql_9_7_twice_on_one_pair(docker_state, tmp_path, mode):
    """Oracle MySQL 9.7 (chaos/mysql:9.7, from Debian sid): its own replication statements, GTID
    sets, caching_sha2_password over plain TCP after a restart; a second run on the same pair
    writes rows of its own (not one duplicate of the first run's ids)."""
    up = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "up", "mysql-replication", "--backend",
                                  "docker", "--server", "mysql:9.7", "--base-port", "3467"])
    assert up.exit_code == 0, up.output
    for attempt in ("first", "second"):
        out = tmp_path / f"{mode}-{attempt}"
        result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "run", "replica-stop", "--mode",
                                          mode, "--duration", "6", "--warmup", "2", "--down-seconds", "2", "--users",
                                          "4", "--rate", "600", "--out", str(out)])
        assert result.exit_code == 0, result.output
        r = json.loads((out / "result.json").read_text())
        m = r["measurements"]
        assert r["passed"] and r["topology"]["server_version"].startswith("9.7.")
        assert m["ops"]["fail"] == 0 and m["writes_during_outage"] > 100  # no insert refused
        assert m["max_lag_seconds"] >= 0.5 * m["replica_down_seconds"] and m["catchup_seconds"] is not None
        assert m["lost_rows"] == 0 and m["checksum_match"] is True and m["replication_errors"] == 0
        assert ":" in r["context"]["target_gtid"]  # a MySQL GTID set (uuid:1-N), not MariaDB's d-s-n
        assert {f["setting"] for f in m["findings"]} == {"super_read_only", "binlog_format"}  # findings, and it passed
        samples = [json.loads(line) for line in (out / "timeline.jsonl").open()]
        assert not any(str(s.get("error", "")).startswith("probe error") for s in samples)  # the SQL fits 9.7
    down = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "down"])
    assert down.exit_code == 0 and containers(DockerBackend(docker_state.path)) == []


def test_master_pause_on_docker(docker_state, tmp_path):
    out = tmp_path / "docker-pause"
    result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "run", "master-pause", "--backend",
                                      "docker", "--base-port", "7801", "--node-timeout-ms", "1000", "--duration", "8",
                                      "--warmup", "2", "--users", "8", "--pause-seconds", "3.5", "--out", str(out)])
    # only a write acknowledged just before the pause and never replicated may be lost (and fails the run)
    r = evidence.assert_passed_or_lost_only_the_unreplicated_tail(out, result.output, result.exit_code)
    m = r["measurements"]
    assert r["backend"] == "docker" and r["fault"]["kind"] == "pause"
    assert 1.0 <= m["failover_seconds"] <= 3.5 and m["demote_seconds"] is not None
    assert m["consistency"]["consistent"]
    assert containers(DockerBackend(docker_state.path)) == []


def test_partition_on_docker(docker_state, tmp_path):
    out = tmp_path / "docker-partition"
    result = CliRunner().invoke(cli, ["--state-dir", str(docker_state.path), "run", "partition", "--backend",
                                      "docker", "--base-port", "7801", "--node-timeout-ms", "1000", "--duration", "8",
                                      "--warmup", "2", "--users", "8", "--heal-after", "4", "--out", str(out)])
    assert result.exit_code == 1, result.output  # the isolated master's acknowledged writes are lost
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["backend"] == "docker" and m["minority_acknowledged_writes"] > 0
    assert abs(m["minority_write_window_seconds"] - m["minority_cluster_fail_seconds_from_log"]) <= 0.5
    assert m["failover_seconds"] is not None and m["rejoin_seconds"] is not None
    assert containers(DockerBackend(docker_state.path)) == []
    rules = subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True, check=False).stdout
    assert "chaos-harness" not in rules
