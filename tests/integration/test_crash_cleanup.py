"""Crash-only cleanup: SIGKILL of the harness's whole process group at several moments of every
scenario, on both backends, then `chaos down` leaves nothing: no server, no load process, no
container, no stopped process, no firewall rule, and a state directory that says nothing is up.
The same when state.json was deleted or truncated before `chaos down`."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos import leftovers
from chaos.cli import cli
from chaos.state import empty_state
from tests.conftest import require
from tests.lines import read_until

REDIS = ["--node-timeout-ms", "1000", "--base-port", "7571", "--duration", "40", "--warmup", "2", "--users", "8"]
MYSQL = ["--base-port", "3347", "--duration", "40", "--warmup", "2", "--down-seconds", "20", "--users", "4",
         "--rate", "400"]
DOCKER = ["--backend", "docker", "--base-port", "7801"]

CASES = [  # scenario, its options, the line after which the harness dies
    ("master-kill", REDIS, "load: 8 users"),  # during the warm-up
    ("master-kill", [*REDIS, "--stale-replica", "1"], "killed redis-"),  # right after the fault, a rule in place
    ("master-kill", REDIS, "rejoined as a replica"),  # during the recovery
    ("master-kill", [*REDIS, "--duration", "6"], "final read"),  # during the final read
    ("master-pause", [*REDIS, "--pause-seconds", "20"], "paused redis-"),  # a node left SIGSTOPped
    ("partition", [*REDIS, "--heal-after", "20"], "partition: dropping"),  # 10 rules in place
    ("replica-stop", [*MYSQL, "--mode", "kill"], "killed mysql-2"),
    ("replica-stop", [*MYSQL, "--mode", "sql-thread"], "stopped the SQL thread"),
    # the replication connection cut (2 rules), then the old source down after the promotion swapped the roles
    ("source-kill", [*MYSQL, "--mode", "partition", "--partition-seconds", "20"], "partition: dropping"),
    ("source-kill", MYSQL, "is the source now"),
]
DOCKER_CASES = [
    ("master-kill", [*REDIS, *DOCKER], "killed redis-"),
    ("master-pause", [*REDIS, *DOCKER, "--pause-seconds", "20"], "paused redis-"),
    ("partition", [*REDIS, *DOCKER, "--heal-after", "20"], "partition: dropping"),
]


def harness_then_sigkill(state, out: Path, scenario: str, options: list[str], needle: str) -> str:
    """Run the scenario in its own process group and SIGKILL the whole group after ``needle``."""
    env = {**os.environ, "CHAOS_STATE_DIR": str(state.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", scenario, *options, "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    text = read_until(proc.stderr, needle, 90)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert needle in text, text
    return text


def load_processes_of(out: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "loadgen.locust_main" in cmdline and str(out) in cmdline:
                pids.append(int(entry.name))
    return pids


def firewall_rules() -> str:
    return subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True, check=False).stdout


def assert_nothing_left(state, out: Path) -> None:
    found = leftovers.find(state)
    assert not found, found.describe()
    assert load_processes_of(out) == []
    assert "chaos-harness" not in firewall_rules()
    assert state.load() == empty_state()
    status = CliRunner().invoke(cli, ["--state-dir", str(state.path), "status"])
    assert "nothing is up" in status.output


@pytest.fixture
def state_dir(torn_down):
    require("redis-server")
    require("mariadbd")
    return torn_down


@pytest.mark.parametrize("scenario, options, needle", CASES, ids=[f"{c[0]}:{c[2].split()[0]}" for c in CASES])
def test_sigkill_then_down_leaves_nothing(state_dir, tmp_path, scenario, options, needle):
    out = tmp_path / "run"
    harness_then_sigkill(state_dir, out, scenario, options, needle)
    down = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "down"])
    assert down.exit_code == 0, down.output
    assert_nothing_left(state_dir, out)


def test_load_processes_exit_by_themselves_when_the_harness_dies(state_dir, tmp_path):
    out = tmp_path / "orphan"
    harness_then_sigkill(state_dir, out, "master-kill", [*REDIS, "--workers", "2"], "load: 8 users")
    assert len(load_processes_of(out)) == 3  # the Locust master and two workers, orphaned for now
    status = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "status"])
    assert "orphaned load process" in status.output and "chaos down" in status.output
    deadline = time.monotonic() + 15
    while load_processes_of(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert load_processes_of(out) == [], "the load processes outlived their controller"
    assert CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "down"]).exit_code == 0
    assert_nothing_left(state_dir, out)


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_down_without_a_usable_state_file_finds_everything(state_dir, tmp_path, damage):
    out = tmp_path / "damaged"
    harness_then_sigkill(state_dir, out, "partition", [*REDIS, "--heal-after", "20"], "partition: dropping")
    assert "chaos-harness" in firewall_rules()
    if damage == "deleted":
        state_dir.file.unlink()
    else:
        state_dir.file.write_text('{"topologies": {"redis-clus')
    down = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "down"])
    assert down.exit_code == 0, down.output
    assert "removed leftover server process redis-server" in down.output
    if damage == "truncated":
        assert "looking for what the harness left" in down.output
    assert_nothing_left(state_dir, out)


@pytest.fixture
def docker_state_dir(state):
    from chaos.backends.docker import DockerBackend
    from chaos.errors import ChaosError

    try:
        DockerBackend(state.path).require("redis")
    except ChaosError as exc:
        pytest.fail(f"the docker backend tests need a Docker engine and the image: {exc}")
    yield state
    CliRunner().invoke(cli, ["--state-dir", str(state.path), "down"])


@pytest.mark.parametrize("scenario, options, needle", DOCKER_CASES, ids=[c[0] for c in DOCKER_CASES])
def test_sigkill_then_down_leaves_nothing_on_docker(docker_state_dir, tmp_path, scenario, options, needle):
    out = tmp_path / "run"
    harness_then_sigkill(docker_state_dir, out, scenario, options, needle)
    down = CliRunner().invoke(cli, ["--state-dir", str(docker_state_dir.path), "down"])
    assert down.exit_code == 0, down.output
    assert_nothing_left(docker_state_dir, out)


def test_a_soak_killed_mid_episode_is_cleaned_by_down_and_judged_on_its_finished_episodes(state_dir, tmp_path):
    """Seed 1 draws a kill of a master (9.3 s after the warm-up), then a partition of a replica
    (17.3 s): the harness dies as the partition's rules go in; `chaos down` removes them, and
    `chaos analyze` judges the kill from the files alone, never PASSED."""
    import json

    from chaos.history import records

    out = tmp_path / "soak"
    harness_then_sigkill(state_dir, out, "soak", [*REDIS, "--faults", "kill,partition", "--interval", "8s±1s",
                                                  "--seed", "1"], "episode 2 of")
    assert not (out / "result.json").exists() and (out / "started.json").exists()
    assert "chaos-harness" in firewall_rules()  # the partition it was holding
    down = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "down"])
    assert down.exit_code == 0, down.output
    assert_nothing_left(state_dir, out)
    judged = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "analyze", str(out)])
    assert judged.exit_code == 1, judged.output
    assert "verdict: interrupted" in judged.output, judged.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["interrupted"] and not r["passed"] and "during episode(s) 2" in r["error"]
    (kill,) = m["episodes"]
    assert (kill["index"], kill["kind"], kill["role"], kill["outcome"]) == (1, "kill", "master", "ok")
    assert 1.0 <= kill["failover_seconds"] <= 8.0 and kill["lost_writes"] is None
    assert m["in_progress_at_end"] == [2] and m["failovers"] == 1
    status = {c["name"]: c["status"] for c in r["checks"]}
    assert status["no_lost_writes"] == "unknown" and status["every_episode_recovered"] == "pass"
    assert not list(out.glob("history-*.jsonl")) and (out / "history.jsonl.zst").exists()
    assert any(s.get("source") == "probe" for s in records(out / "timeline.jsonl"))
    report = (out / "report.md").read_text()
    assert report.startswith("# soak — INTERRUPTED") and "## Episodes" in report
    again = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "analyze", str(out)])
    assert again.exit_code == 1 and json.loads((out / "result.json").read_text())["measurements"]["episodes"] == \
        m["episodes"]  # judged again the same way from the same files
