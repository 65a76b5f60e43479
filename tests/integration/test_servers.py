"""Server versions side by side: Valkey 9.1 (image built from Debian sid by ./scripts/test) runs
every Redis scenario on the docker backend, atomic slot migration included, and --matrix
compares servers."""

import pytest

from chaos.backends.docker import DockerBackend
from chaos.errors import ChaosError
from chaos.servers import parse_server
from tests.conftest import chaos
from tests.integration.evidence import assert_passed_or_lost_only_the_unreplicated_tail, result_of

VALKEY = "valkey:9.1"
BASE = ["--backend", "docker", "--base-port", "7951", "--users", "8", "--warmup", "2"]


@pytest.fixture
def valkey_state(torn_down):
    try:
        DockerBackend(torn_down.path).require("redis", parse_server(VALKEY, "redis"))
    except ChaosError as exc:
        pytest.fail(f"these tests need a Docker engine and the Valkey image: {exc}")
    return torn_down


def run(state, *args):
    return chaos(state, "run", *args)


def test_master_kill_on_valkey(valkey_state, tmp_path):
    out = tmp_path / "mk"
    result = run(valkey_state, "master-kill", *BASE, "--server", VALKEY, "--node-timeout-ms", "1000",
                 "--duration", "6", "--out", str(out))
    # a SIGKILL can land between a write's acknowledgement and its replication: then the run
    # must say FAILED, and the lost write must be one the promoted replica never received
    r = assert_passed_or_lost_only_the_unreplicated_tail(out, result.output, result.exit_code)
    m = r["measurements"]
    assert r["config"]["server"] == VALKEY
    assert all(row["server"].startswith("valkey 9.1.") for row in r["topology"]["before"])
    assert "valkey-server nodes" in result.output
    # Valkey logs "Failover election won: I'm the new primary.": the log parser reads it
    assert abs(m["failover_seconds"] - m["failover_seconds_from_log"]) <= 0.25
    assert m["rejoin_seconds"] is not None


def test_scale_out_atomic_on_valkey(valkey_state, tmp_path):
    out = tmp_path / "so"
    result = run(valkey_state, "scale-out", *BASE, "--server", VALKEY, "--method", "atomic", "--replicas-per-master",
                 "0", "--preload-keys", "50000", "--duration", "8", "--out", str(out))
    assert result.exit_code == 0, result.output
    m = result_of(out)["measurements"]
    assert m["method"] == "atomic" and m["slots_moved"] == 4096 and all(j["state"] == "success" for j in m["jobs"])
    assert m["lost_writes"] == 0 and m["preloaded_keys_missing"] == 0
    assert m["client_redirects"]["ask"] == 0  # atomic hand-off: no key-by-key ASK window
    assert m["moved_slots_write_pause_seconds"] is not None
    assert "done (atomic)" in result.output


@pytest.mark.parametrize("scenario,args", [
    ("master-pause", ["--node-timeout-ms", "1000", "--duration", "8"]),
    ("partition", ["--node-timeout-ms", "1000", "--duration", "8"]),
    ("scale-in", ["--replicas-per-master", "0", "--masters", "4", "--preload-keys", "20000", "--duration", "6"]),
])
def test_other_scenarios_on_valkey(valkey_state, tmp_path, scenario, args):
    out = tmp_path / scenario
    result = run(valkey_state, scenario, *BASE, "--server", VALKEY, *args, "--out", str(out))
    r = result_of(out)
    assert all(row["server"].startswith("valkey 9.1.") for row in r["topology"]["before"])
    if scenario == "partition":  # an isolated master's acknowledged writes may be lost: measured, not assumed
        assert result.exit_code in (0, 1) and r["measurements"]["failover_seconds"] is not None
    else:
        assert result.exit_code == 0, result.output
        assert r["measurements"]["lost_writes"] == 0
    if scenario == "scale-in":
        assert r["measurements"]["method"] == "atomic"


def test_kill_during_atomic_migration_is_counted(valkey_state, tmp_path):
    out = tmp_path / "kill"
    result = run(valkey_state, "scale-out", *BASE, "--server", VALKEY, "--kill-during-migration", "source",
                 "--preload-keys", "50000", "--node-timeout-ms", "1000", "--duration", "8", "--out", str(out))
    assert result.exit_code in (0, 1), result.output  # the verdict is the measurement
    r = result_of(out)
    m = r["measurements"]
    assert r["fault"]["target_role"] == "source" and r["fault"]["during"] == "atomic migration"
    assert m["jobs"][0]["state"] in ("failed", "success", "cancelled")
    assert sum(m["slots_in_flight"]["owners"].values()) == m["slots_in_flight"]["slots"]
    assert isinstance(m["lost_writes"], int)
    assert any(c["name"] == "no_slot_half_moved" for c in r["checks"])


def test_matrix_compares_servers(valkey_state, tmp_path):
    out = tmp_path / "matrix"
    result = run(valkey_state, "master-kill", *BASE, "--matrix", f"redis:7.0,{VALKEY}", "--node-timeout-ms", "1000",
                 "--duration", "5", "--out", str(out))
    assert "groups: server=redis:7.0 (1 runs); server=valkey:9.1 (1 runs)" in result.output
    passed = [assert_passed_or_lost_only_the_unreplicated_tail(out / run_id, result.output)["passed"]
              for run_id in ("redis-7.0-01", "valkey-9.1-01")]
    assert result.exit_code == (0 if all(passed) else 1), result.output  # any failed run fails the matrix
    assert (out / "compare.html").exists()


def test_replica_stop_on_mariadb_11_8(state, tmp_path):
    try:
        DockerBackend(state.path).require("mysql", parse_server("mariadb:11.8", "mysql"))
    except ChaosError as exc:
        pytest.fail(f"this test needs a Docker engine and the MariaDB 11.8 image: {exc}")
    out = tmp_path / "m118"
    result = run(state, "replica-stop", "--backend", "docker", "--server", "mariadb:11.8", "--base-port", "3391",
                 "--duration", "8", "--warmup", "2", "--down-seconds", "2", "--users", "4", "--rate", "300",
                 "--out", str(out))
    chaos(state, "down")
    assert result.exit_code == 0, result.output
    r = result_of(out)
    assert r["passed"] and all(row["server"].startswith("11.8.") for row in r["topology"]["before"])
    assert r["measurements"]["lost_rows"] == 0 and r["measurements"]["catchup_seconds"] is not None


def test_atomic_refused_on_redis_and_unknown_servers(valkey_state, tmp_path):
    result = run(valkey_state, "scale-out", *BASE, "--server", "redis:7.0", "--method", "atomic", "--preload-keys",
                 "0", "--out", str(tmp_path / "a"))
    assert result.exit_code == 2 and "--method atomic needs CLUSTER MIGRATESLOTS" in result.output
    missing = run(valkey_state, "master-kill", *BASE, "--server", "valkey:7.2", "--out", str(tmp_path / "b"))
    assert missing.exit_code == 2 and "chaos/valkey:7.2 is missing" in missing.output
