"""The client view on real redis-server processes: redis-py (threads) and ioredis (Node), each
installed from its package index into a cache of this test session, beside a master-pause."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import zstandard
from click.testing import CliRunner
from redis.crc import key_slot

from chaos.cli import cli
from chaos.leftovers import find
from tests.conftest import chaos, require
from tests.lines import read_until

COMMON = ["--node-timeout-ms", "1000", "--base-port", "7351", "--duration", "10", "--warmup", "2", "--users", "4",
          "--rate", "400", "--seed", "5"]
BASE = [*COMMON, "--pause-seconds", "5"]


@pytest.fixture
def state_dir(torn_down, tmp_path_factory, monkeypatch):
    require("redis-server")
    if shutil.which("node") is None:
        pytest.fail("node is not installed (the Node clients of the client view need it)")
    monkeypatch.setenv("CHAOS_CLIENTS_DIR", str(tmp_path_factory.getbasetemp() / "clients"))
    return torn_down


def test_master_pause_through_redis_py_and_ioredis(state_dir, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "run", "master-pause", *BASE,
                                      "--clients", "redis-py,ioredis@5", "--out", str(out)])
    assert result.exit_code in (0, 1), result.output  # 1: a client may lose an acknowledged write (below)
    assert "client view: redis-py " in result.output and "ioredis 5." in result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert not m.get("measurement_errors"), m.get("measurement_errors")
    by = {c["client"]: c for c in m["clients"]}
    assert set(by) == {"redis-py", "ioredis"} and by["ioredis"]["version"].startswith("5.")
    promoted_after = m["failover_seconds"]
    for name, c in by.items():
        assert c["exit_code"] == 0 and not c["died_early"] and c["workers"] == 4, (name, c)
        # 40 writes a second for 10 s, less what blocked: each worker wrote
        assert c["calls"] >= 100 and c["writes"]["acknowledged"] > 50, (name, c)
        # nobody writes the victim's slots before a replica takes them over
        assert c["write_unavailable_seconds"] >= promoted_after - 0.3, (name, c["write_unavailable_seconds"])
        recount_outside_the_harness(out, c, r["fault"]["target_slots"])
    # redis-py's defaults have no timeout shorter than the pause: its calls to the frozen master block
    assert by["redis-py"]["longest_call_seconds"] >= 1.0 and by["redis-py"]["blocked_calls"]["over_1s"] >= 1
    # the verdict follows the clients' losses: an acknowledged write a library lost fails the run
    lost = sum(c["lost_writes"] + c["lost_increments"] for c in by.values())
    check = next(c for c in r["checks"] if c["name"] == "no_lost_writes_clients")
    assert check["status"] == ("pass" if lost == 0 else "fail") and check["value"] == lost
    assert r["passed"] is (result.exit_code == 0) and (lost == 0 or not r["passed"])
    # the servers' side: the recorder's and the libraries' refreshes after their failures show
    side = m["clients_server_side"]
    assert (out / "server-stats.jsonl").exists() and set(side) == {"before", "during", "after"}
    assert side["during"]["cluster_slots_per_second"] + side["during"]["cluster_shards_per_second"] > 0, side
    charts = json.loads((out / "charts" / "index.json").read_text())
    assert "clients" in [c["name"] for c in charts] and (out / "charts" / "clients.svg").stat().st_size > 1000
    md = (out / "report.md").read_text()
    assert "## What your application would see" in md and f"| redis-py {by['redis-py']['version']} |" in md
    # nothing of the clients outlives the run
    assert not [p for p in find(state_dir, docker=False).processes if p.kind == "load"]
    # `chaos analyze` judges the clients' histories again, to the same numbers
    again = CliRunner().invoke(cli, ["analyze", str(out)])
    assert again.exit_code == result.exit_code, again.output
    assert json.loads((out / "result.json").read_text())["measurements"]["clients"] == m["clients"]


def raw_records(path):
    """A client's history read with zstandard and json alone (no harness code)."""
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8")
        return [json.loads(line) for line in text if line.strip()]


def recount_outside_the_harness(out, c, victim_slots):
    """The longest write gaps and the INCR tallies of one client, counted from its raw records,
    its slots by redis-py's CRC, its counters against the servers' final values (final-read.jsonl)."""
    records = raw_records(out / f"client-{c['label'].replace('@', '-')}.jsonl.zst")
    lo, hi = (int(x) for x in victim_slots.split("-"))
    invoked = {}
    acked_at = {"victim": [], "any": []}
    incr_acked, incr_unknown = {}, {}
    for rec in records:
        if rec["type"] == "invoke":
            invoked[rec["process"]] = rec
            continue
        start = invoked.pop(rec["process"])
        if rec["f"] == "incr":
            tally = incr_acked if rec["type"] == "ok" else incr_unknown
            tally[rec["key"]] = tally.get(rec["key"], 0) + 1
        elif rec["type"] == "ok":
            acked_at["any"].append(rec["time"])
            if lo <= key_slot(rec["key"].encode()) <= hi:
                acked_at["victim"].append(rec["time"])
        del start
    for group, field in (("any", "write_unavailable_seconds_any_slot"), ("victim", "write_unavailable_seconds")):
        times = sorted(acked_at[group])
        longest = max(b - a for a, b in zip(times, times[1:]))
        # the harness also counts a gap from the first write of the history and to its end
        assert longest <= c[field] + 1e-6 and c[field] - longest < 0.5, (c["client"], group, longest, c[field])
    final = dict(raw_records(out / "final-read.jsonl.zst"))  # packed once the reports were written
    extra = sum(max(0, int(final.get(k) or 0) - n) for k, n in incr_acked.items())
    lost = sum(max(0, n - int(final.get(k) or 0)) for k, n in incr_acked.items())
    assert (extra, lost) == (c["unacked_applied_increments"], c["lost_increments"]), c["client"]
    assert sum(incr_acked.values()) > 0


def kill_client_when_it_runs(owner, runner, after):
    """SIGKILL the client runner started for ``owner`` ``after`` seconds after it appears."""
    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = subprocess.run(["pgrep", "-f", runner], capture_output=True, text=True).stdout.split()
            for pid in found:
                try:
                    environ = open(f"/proc/{pid}/environ", "rb").read()
                except OSError:
                    continue
                if f"CHAOS_OWNER={owner}".encode() in environ:
                    time.sleep(after)
                    os.kill(int(pid), signal.SIGKILL)
                    return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_client_that_crashes_mid_run_fails_the_run_and_is_reported(state_dir, tmp_path):
    """(With the vendor's settings: the runner gets them, and the record says where they come from.)"""
    out = tmp_path / "run"
    watcher = kill_client_when_it_runs(state_dir.path, "loadgen/clients/redis_py.py", 2.0)
    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "run", "master-kill",
                                      *COMMON, "--clients", "redis-py", "--client-profile", "vendor",
                                      "--out", str(out)])
    watcher.join(5)
    assert result.exit_code == 1, result.output
    assert "warning: the redis-py client crashed during the run (exit code -9)" in result.output
    r = json.loads((out / "result.json").read_text())
    (c,) = r["measurements"]["clients"]
    assert c["died_early"] is True and c["exit_code"] == -9 and c["calls"] > 0
    assert c["profile"] == "vendor" and c["settings"] == {"socket_connect_timeout": 0.1, "socket_timeout": 2.0}
    assert json.loads((out / "clients" / "redis-py.spec.json").read_text())["settings"] == c["settings"]
    assert next(x for x in r["checks"] if x["name"] == "clients_ran")["status"] == "fail" and not r["passed"]
    assert "crashed: exit code -9" in (out / "report.md").read_text()


def test_the_clients_do_not_outlive_a_killed_harness(state_dir, tmp_path):
    """kill -9 of the harness mid-run: its client runners stop by themselves within a second or
    two (they watch their parent, as the load processes do); `chaos down` removes the rest."""
    env = {**os.environ, "CHAOS_STATE_DIR": str(state_dir.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", "master-kill", *COMMON, "--clients",
                             "redis-py,ioredis@5", "--out", str(tmp_path / "run")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    read_until(proc.stderr, "client view:", 90)
    runners = [p for p in find(state_dir, docker=False).processes if p.kind == "load"]
    assert len(runners) >= 3, runners  # the load, and a runner per library
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 10
    left = runners
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [p for p in find(state_dir, docker=False).processes if p.kind == "load"]
    assert not left, left
    down = chaos(state_dir, "down")
    assert down.exit_code == 0, down.output


def test_a_client_that_cannot_be_installed_ends_the_run_before_anything_starts(state_dir, tmp_path):
    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "run", "master-kill", *BASE[:4],
                                      "--clients", "redis-py@99", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    assert "could not install redis-py@99 from PyPI (redis==99.*)" in result.output
    assert "Traceback" not in result.output and "starting a Redis Cluster" not in result.output
    assert state_dir.topology("redis-cluster") is None


def test_source_kill_through_pymysql(torn_down, tmp_path, tmp_path_factory, monkeypatch):
    """PyMySQL's workers on the MariaDB source when it is killed: each reconnects through the
    endpoint the promotion rewrites; every insert it was told committed is on the new source."""
    require("mariadbd")
    monkeypatch.setenv("CHAOS_CLIENTS_DIR", str(tmp_path_factory.getbasetemp() / "clients"))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["--state-dir", str(torn_down.path), "run", "source-kill", "--base-port", "3377",
                                      "--duration", "8", "--warmup", "2", "--users", "4", "--rate", "300",
                                      "--clients", "pymysql", "--out", str(out)])
    assert result.exit_code in (0, 1), result.output  # 1: asynchronous replication may lose a commit
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    (c,) = m["clients"]
    assert c["client"] == "pymysql" and c["exit_code"] == 0 and c["writes"]["acknowledged"] > 50, c
    assert m["clients_context"] == {"slots": "the table", "any": "any table", "recovery_from": "the promotion"}
    # the kill resets its connection: the workers raise, reconnect to the promoted replica and write again
    assert c["errors_total"] >= 1 and c["all_recovered"] is True and c["recovery_seconds"]["recovered"] == 4, c
    # its inserts, read back on the new source: the ones lost are the verdict's too
    final = dict(raw_records(out / "final-read.jsonl.zst"))  # packed once the reports were written
    acked = [rec for rec in raw_records(out / "client-pymysql.jsonl.zst") if rec["type"] == "ok"]
    missing = [rec["key"] for rec in acked if final.get(rec["key"]) != rec["value"]]
    assert len(missing) == c["lost_writes"]
    assert (r["passed"] is True) == (result.exit_code == 0) and (not missing or not r["passed"])


@pytest.mark.parametrize("args,message", [
    (["run", "master-kill", "--clients", "jedis"], "unknown client 'jedis'; known: redis-py"),
    (["run", "scale-out", "--clients", "ioredis@five"], "a version is MAJOR, MAJOR.MINOR or MAJOR.MINOR.PATCH"),
    (["run", "master-kill", "--clients", "redis-py", "--client-rate", "0"], "--client-rate must be in"),
    (["run", "replica-stop", "--clients", "redis-py"], "redis-py is a Redis client; this scenario's clients: pymysql"),
])
def test_bad_clients_are_refused_in_one_line_before_anything_starts(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "state" / "state.json").exists()
