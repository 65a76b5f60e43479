"""replica-stop on real mariadbd processes, in every mode, and a replica that really diverges."""

import json
import threading
import time

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.history import read_history, records
from chaos.topology.mysql_replication import MysqlReplication, source_position, wait_replica_reached
from tests.conftest import require
from tests.integration import pt_heartbeat
from tests.lines import read_until

BASE = ["--base-port", "3327", "--duration", "8", "--warmup", "2", "--down-seconds", "3", "--users", "4",
        "--rate", "300", "--seed", "3"]  # a replica that applies serially keeps up (see test_replica_stop_on_docker)


@pytest.fixture
def state_dir(torn_down):
    require("mariadbd")
    return torn_down


def replica_stop(state, out, *extra):
    return CliRunner().invoke(cli, ["--state-dir", str(state.path), "run", "replica-stop", *BASE, "--out", str(out),
                                    *extra])


def hold_heartbeats(topo, timeline, seconds):
    """Lock the heartbeat table on the replica (its SQL thread then waits to apply the run's
    heartbeats, as a busy replica would) until ``seconds`` after the run's probe started; the row
    `chaos up` wrote stays readable meanwhile."""
    conn = topo.admin(topo.replica)
    with conn.cursor() as cur:
        cur.execute(f"LOCK TABLES {topo.meta_db}.heartbeat READ")

    def release():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not timeline.exists():  # the probe opens it as it starts
            time.sleep(0.02)
        time.sleep(seconds)
        with conn.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        conn.close()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("mode", ["stop", "kill", "sql-thread"])
def test_replica_stop_lag_rises_then_catches_up_and_data_matches(state_dir, tmp_path, mode):
    """On a pair that was up before the run, whose setup heartbeat is 30 s old and which applies
    the run's first heartbeats late, with pt-heartbeat beside the run as a witness."""
    up = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "up", "mysql-replication", "--base-port", "3327"])
    assert up.exit_code == 0, up.output
    topo = MysqlReplication.load(state_dir)
    source = topo.admin(topo.source)
    with source.cursor() as cur:
        cur.execute(f"UPDATE {topo.meta_db}.heartbeat SET ts = NOW(6) - INTERVAL 30 SECOND WHERE id = 1")
        cur.execute("SELECT @@server_id")
        server_id = cur.fetchone()[0]
    source.close()
    assert wait_replica_reached(topo, source_position(topo), 10)  # the aged row is on the replica too
    # pt-heartbeat's table sits in the `mysql` schema, which the run's table comparison leaves out
    witness = pt_heartbeat.Witness(tmp_path, (topo.source.host, topo.source.port),
                                   (topo.replica.host, topo.replica.port), topo.admin_user, topo.secrets["admin"],
                                   "mysql", server_id)
    out = tmp_path / mode
    try:
        held = hold_heartbeats(topo, out / "timeline.jsonl", 0.5)
        result = replica_stop(state_dir, out, "--mode", mode)
        held.join(10)
    finally:
        witness.stop()
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["scenario"] == "replica-stop" and r["passed"] and r["fault"]["kind"] == mode
    for field in ("replica_down_seconds", "max_lag_seconds", "catchup_seconds", "writes_during_outage", "lost_rows",
                  "checksum_match", "replication_errors", "ops", "latency_ms"):
        assert field in m, field
    # lag only from the run's own heartbeats: the 30 s old row was never taken for lag
    assert m["max_lag_before_fault_seconds"] is not None and m["max_lag_before_fault_seconds"] < 1.0
    assert m["max_lag_seconds"] >= 0.5 * m["replica_down_seconds"]  # lag rose during the outage ...
    assert m["catchup_seconds"] is not None  # ... and fell under 1 s after the restart
    assert m["writes_during_outage"] > 100
    assert m["lost_rows"] == 0 and m["checksum_match"] is True and m["replication_errors"] == 0
    # the pair's mixed binlog format is a finding the report shows, not a failure
    assert [f["setting"] for f in m["findings"]] == ["binlog_format"] and "## Findings" in (out / "report.md").read_text()
    assert {t["table"] for t in m["tables"]["tables"]} >= {"items", "heartbeat"}
    timeline = list(records(out / "timeline.jsonl"))
    first = next(read_history(out))
    fault = r["fault"]["injected_at"] - first.wall + first.time
    outage = [s for s in timeline if fault + 0.3 < s["time"] < fault + m["replica_down_seconds"] - 0.3]
    assert outage
    if mode == "sql-thread":  # the replica answers; its SQL thread is stopped: NULL kept as null
        assert all(s["up"] and s["sql_thread"] == "No" and s["seconds_behind_master"] is None for s in outage)
    else:
        assert all(not s["up"] for s in outage)
    # the largest lag is the outage's, not a row left from before the run
    restart = r["context"]["restart_t"]
    during = [s["heartbeat_lag"] for s in timeline if s.get("heartbeat_lag") is not None and fault <= s["time"]]
    assert abs(m["max_lag_seconds"] - max(during)) <= 0.5
    # pt-heartbeat agrees: each of its readings lies within what the probe saw while it was taken,
    # give or take 0.5 s: the two writers' intervals (pt-heartbeat 0.2 s, rounded to 0.01 s; the
    # harness 0.1 s), and a few tenths by which a busy machine can hold back a writer or a probe
    compared = 0
    for began, ended, lag in witness.readings:
        ours = [s["heartbeat_lag"] for s in timeline if s.get("heartbeat_lag") is not None
                and began - 0.3 <= s["wall"] <= ended + 0.3]
        if lag is None or not ours:
            continue  # the replica did not answer one of the two
        assert min(ours) - 0.5 <= lag <= max(ours) + 0.5, (began, lag, ours)
        compared += 1
    assert compared >= 2  # kill and stop leave the replica silent for part of an 8 s run
    if mode == "sql-thread":  # the lag climbs for the whole outage: both see the same top
        seen = max(lag for _, _, lag in witness.readings if lag is not None)
        bound = witness.interval() + 0.3
        assert abs(m["max_lag_seconds"] - seen) <= bound, (m["max_lag_seconds"], seen, bound)
    # ... and when the lag fell back under 1 s after the restart, on the wall clock
    offset = timeline[0]["wall"] - timeline[0]["time"]
    ours_back = next(s["wall"] for s in timeline if s["time"] >= restart and s.get("heartbeat_lag") is not None
                     and s["heartbeat_lag"] < 1.0)
    theirs_back = next(ended for began, ended, lag in witness.readings if began >= offset + restart
                       and lag is not None and lag < 1.0)
    assert -0.5 <= theirs_back - ours_back <= witness.interval() + 0.5, (theirs_back - ours_back)
    if mode == "kill":  # recomputed from the files alone: the same verdict
        again = CliRunner().invoke(cli, ["analyze", str(out)])
        assert again.exit_code == 0, again.output
        m2 = json.loads((out / "result.json").read_text())["measurements"]
        for key in ("max_lag_seconds", "catchup_seconds", "writes_during_outage", "lost_rows", "ops", "tables"):
            assert m2[key] == m[key], key
    prom = (out / "metrics.prom").read_text()
    assert "chaos_replica_catchup_seconds" in prom and "chaos_lost_rows" in prom
    assert 'chaos_replication_lag_seconds{backend="process",label="",method="heartbeat"' in prom


def test_a_replica_that_diverges_fails_the_run(state_dir, tmp_path):
    up = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "up", "mysql-replication", "--base-port", "3327"])
    assert up.exit_code == 0, up.output
    topo = MysqlReplication.load(state_dir)
    source = topo.admin(topo.source)
    with source.cursor() as cur:
        cur.execute("CREATE DATABASE app")
        cur.execute("CREATE TABLE app.accounts (id INT PRIMARY KEY, balance INT)")
        cur.execute("INSERT INTO app.accounts VALUES (1, 100), (2, 200)")
    source.close()
    from chaos.topology.mysql_replication import source_position, wait_replica_reached

    assert wait_replica_reached(topo, source_position(topo), 10)
    replica = topo.admin(topo.replica)
    with replica.cursor() as cur:  # someone "fixes" a row directly on the replica
        cur.execute("SET GLOBAL read_only = 0")
        cur.execute("UPDATE app.accounts SET balance = 999 WHERE id = 2")
        cur.execute("SET GLOBAL read_only = 1")
    replica.close()
    out = tmp_path / "diverged"
    result = replica_stop(state_dir, out)
    assert result.exit_code == 1, result.output
    r = json.loads((out / "result.json").read_text())
    checks = {c["name"]: c for c in r["checks"]}
    assert checks["checksums_match"]["passed"] is False and "app.accounts" in checks["checksums_match"]["value"]
    assert r["measurements"]["tables"]["mismatched_tables"] == ["app.accounts"]
    accounts = {t["table"]: t for t in r["measurements"]["tables"]["tables"]}["accounts"]
    assert accounts["differences"]["rows"] == [{"key": 2, "problem": "differs", "source": "id=2, balance=200",
                                                "replica": "id=2, balance=999"}]
    assert r["passed"] is False
    assert state_dir.topology("mysql-replication") is not None  # the user's pair is left up
    assert MysqlReplication.load(state_dir).replication_problems() == []  # and replicating again


def test_ctrl_c_while_the_sql_thread_is_stopped_starts_it_again(state_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    up = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "up", "mysql-replication", "--base-port", "3327"])
    assert up.exit_code == 0, up.output
    out = tmp_path / "interrupted"
    env = {**os.environ, "CHAOS_STATE_DIR": str(state_dir.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", "replica-stop", *BASE, "--mode", "sql-thread",
                             "--down-seconds", "30", "--out", str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = read_until(proc.stderr, "stopped the SQL thread", 60)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    r = json.loads((out / "result.json").read_text())
    assert r["interrupted"] is True and r["passed"] is False
    topo = MysqlReplication.load(state_dir)
    assert topo.replica_status()["sql_running"] == "Yes"  # healed: replicating again
    assert topo.replication_problems() == []


def test_a_stray_write_without_skip_errors_stops_replication_and_the_run_fails_at_once(state_dir, tmp_path):
    """Position replication on MariaDB, a row written straight to the replica, then the source's
    statement writing it: the replica's SQL thread stops on error 1062 (nothing hides it), the
    catch-up wait ends on that error instead of waiting its timeout, and the run fails."""
    out = tmp_path / "stray"
    result = replica_stop(state_dir, out, "--replication", "position", "--stray-write", "--mode", "sql-thread",
                          "--catchup-timeout", "120")
    assert result.exit_code == 1, result.output
    assert "stopped on error 1062" in result.output and "it will not catch up" in result.output
    r = json.loads((out / "result.json").read_text())
    m, checks = r["measurements"], {c["name"]: c for c in r["checks"]}
    assert r["topology"]["replication"] == "position" and "@" in r["context"]["target_gtid"]
    assert not checks["replica_caught_up"]["passed"] and not checks["no_replication_errors"]["passed"]
    assert m["replication_error_detail"]["Last_SQL_Errno"] == 1062 and m["skipped_replication_errors"] == 0
    assert m["lost_rows"] > 0 and not m["checksum_match"]
