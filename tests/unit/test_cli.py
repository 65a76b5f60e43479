"""CLI behaviour that needs no running server: errors are one line, exit 2, nothing left."""

import socket

import pytest
from click.testing import CliRunner

from chaos import __version__
from chaos.cli import cli


def run(state, *args, env=None):
    return CliRunner().invoke(cli, ["--state-dir", str(state.path), *args], env=env)


def test_version_and_help():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    result = CliRunner().invoke(cli, ["up", "redis-cluster", "--help"])
    assert result.exit_code == 0 and "Examples" in result.output and "--node-timeout-ms" in result.output


def test_down_with_nothing_up_is_ok(state):
    result = run(state, "down")
    assert result.exit_code == 0
    assert "nothing is up" in result.output


def test_status_with_nothing_up(state):
    result = run(state, "status")
    assert result.exit_code == 0 and "nothing is up" in result.output
    assert run(state, "status", "--json").output.strip() == "[]"


def test_missing_redis_server_names_the_fix(state, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run(state, "up", "redis-cluster", env={"PATH": str(empty), "CHAOS_SBIN_DIRS": ""})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "redis-server is not installed" in lines[0] and "apt-get install -y redis-server" in lines[0]
    assert state.topology("redis-cluster") is None


def test_port_in_use_is_named_and_nothing_starts(state):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.13", 17203))
        sock.listen()
        result = run(state, "up", "redis-cluster", "--base-port", "17201")
    assert result.exit_code == 2
    assert "127.0.0.13:17203" in result.output and "already in use" in result.output
    assert "Traceback" not in result.output
    assert state.topology("redis-cluster") is None


def test_unwritable_state_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["--state-dir", str(blocker / "sub"), "up", "redis-cluster"])
    assert result.exit_code == 2
    assert "not writable" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--masters", "0"], "--masters"),
        (["--replicas-per-master", "9"], "--replicas-per-master"),
        (["--base-port", "65000"], "--base-port"),
        (["--node-timeout-ms", "5"], "--node-timeout-ms"),
    ],
)
def test_bad_topology_options(state, args, message):
    result = run(state, "up", "redis-cluster", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_unknown_command_is_usage_error(state):
    assert run(state, "frobnicate").exit_code == 2


def test_list_names_every_scenario(state):
    result = run(state, "list")
    assert result.exit_code == 0
    assert "master-kill" in result.output and "replica-stop" in result.output


def test_unknown_scenario_is_one_line_naming_the_known_ones(state):
    result = run(state, "run", "master-kil")
    assert result.exit_code == 2
    assert result.output.strip() == ("chaos: error: unknown scenario 'master-kil'; known scenarios: master-kill, "
                                     "master-pause, master-stop, partition, replica-stop, scale-in, scale-out, soak, "
                                     "source-kill (see `chaos list`)")


@pytest.mark.parametrize("args, message", [
    (["master-kill", "--slo", "failover_secs<=3"], "unknown measurement 'failover_secs'"),
    (["master-kill", "--slo", "failover_seconds"], "NAME OP NUMBER"),
    (["master-kill", "--target", "redis-1", "--target-key", "k"], "either --target or --target-key"),
    (["master-kill", "--replicas-per-master", "0"], "--replicas-per-master"),
    (["replica-stop", "--down-seconds", "0"], "--down-seconds"),
    (["replica-stop", "--mode", "pause"], "'pause' is not one of"),
])
def test_bad_run_options_fail_before_anything_starts(state, tmp_path, args, message):
    result = run(state, "run", *args, "--out", str(tmp_path / "run"))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "run").exists() and state.load()["topologies"] == {}


def test_missing_mariadbd_names_the_fix(state, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run(state, "up", "mysql-replication", env={"PATH": str(empty), "CHAOS_SBIN_DIRS": ""})
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "mariadbd is not installed" in result.output and "apt-get install -y mariadb-server" in result.output
    assert state.topology("mysql-replication") is None


def test_mysql_port_in_use_is_named(state):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.22", 17308))
        sock.listen()
        result = run(state, "up", "mysql-replication", "--base-port", "17307")
    assert result.exit_code == 2
    assert "127.0.0.22:17308" in result.output and "already in use" in result.output
    assert state.topology("mysql-replication") is None


def test_analyze_and_report_need_a_run_directory(tmp_path):
    for command in ("analyze", "report"):
        result = CliRunner().invoke(cli, [command, str(tmp_path)])
        assert result.exit_code == 2
        assert "result.json" in result.output and "Traceback" not in result.output
