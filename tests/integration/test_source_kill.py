"""source-kill on real mariadbd processes: asynchronous replication loses acknowledged commits
(counted again here, outside the harness, from the history and the new source's rows),
semi-sync AFTER_SYNC loses none, and semi-sync cut past its timeout falls back to async and
loses what it acknowledged after."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.history import read_history
from chaos.topology.mysql_replication import MysqlReplication
from tests.conftest import require

BASE = ["--base-port", "3357", "--duration", "12", "--warmup", "3", "--down-seconds", "2", "--users", "6",
        "--seed", "5"]


@pytest.fixture
def state_dir(torn_down):
    require("mariadbd")
    return torn_down


def source_kill(state, out, *extra):
    return CliRunner().invoke(cli, ["--state-dir", str(state.path), "run", "source-kill", *BASE, "--out", str(out),
                                    *extra])


def acknowledged_inserts(out) -> set[int]:
    """Row ids of every insert the history says was acknowledged (invoke, then ok)."""
    pending: dict[int, str] = {}
    acked = set()
    for op in read_history(out / "history.jsonl.zst"):
        if op.f != "insert":
            continue
        if op.type == "invoke":
            pending[op.process] = op.key
        elif op.type == "ok":
            acked.add(int(pending.pop(op.process)))
        else:
            pending.pop(op.process, None)
    return acked


def rows_on(topo, spec) -> set[int]:
    conn = topo.admin(spec)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id FROM `{topo.workload_db}`.items")
            return {int(r[0]) for r in cur.fetchall()}
    finally:
        conn.close()


def firewall_rules() -> str:
    return subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True, check=False).stdout


def test_async_kill_loses_commits_counted_exactly_and_the_rebuilt_source_matches(state_dir, tmp_path):
    out = tmp_path / "async"
    result = source_kill(state_dir, out, "--rate", "0", "--promote", "immediate", "--rejoin", "rebuild", "--keep")
    assert result.exit_code in (0, 1), result.output
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    topo = MysqlReplication.load(state_dir)
    assert topo.source.name == "mysql-2" and topo.replica.name == "mysql-1"  # the roles, as saved
    # the recount: acknowledged ids from the history, absent from the new source's table
    missing = acknowledged_inserts(out) - rows_on(topo, topo.source)
    assert m["lost_commits"] == len(missing)
    assert [int(i) for i in m["lost_commit_ids"]] == sorted(missing)[:100]
    assert {int(i) for i in (out / "lost-commits.txt").read_text().split()} == missing
    # promoted at once, with relay log left unapplied, under unpaced load: something is lost, and it fails
    assert m["lost_commits"] > 0 and r["passed"] is False and result.exit_code == 1
    assert {c["name"]: c["passed"] for c in r["checks"]}["no_lost_commits"] is False
    # every lost commit was durable on the old source (sync_binlog=1): each is one of its errant transactions
    assert m["errant"]["method"] == "gtid_binlog_state difference"
    assert m["errant_transactions"] >= m["lost_commits"] and m["errant"]["transactions"].startswith("0-1-")
    assert m["old_source"]["how"] == "rebuild" and m["old_source"]["caught_up"] is True
    assert m["checksum_match"] is True and rows_on(topo, topo.replica) == rows_on(topo, topo.source)
    assert 0 < m["promotion_seconds"] < 5 and m["write_unavailable_seconds"] is not None
    assert m["writes_after_promotion"] > 0
    status = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "status"])
    assert "mysql-2 (127.0.0.22:3358) is the source now" in status.output, status.output
    report = (out / "report.md").read_text()
    assert "## Lost commits" in report and "## Errant transactions on the old source" in report
    assert (out / "charts" / "server_roles.svg").exists()


def test_semi_sync_after_sync_loses_no_acknowledged_commit(state_dir, tmp_path):
    out = tmp_path / "semi"
    result = source_kill(state_dir, out, "--rate", "0", "--semi-sync", "after-sync", "--semi-sync-timeout-ms", "60000")
    r = json.loads((out / "result.json").read_text())
    m = r["measurements"]
    assert r["topology"]["semi_sync"]["status"] == "ON" and r["topology"]["semi_sync"]["replicas"] == 1
    assert m["lost_commits"] == 0 and m["semi_sync_fallback"] is False, result.output
    assert result.exit_code == 0 and r["passed"] is True, result.output
    # what the old source kept past the new one (in-flight, never acknowledged) made it rebuild, not rejoin
    assert m["old_source"]["how"] == ("as-replica" if m["errant_transactions"] == 0 else "rebuild")
    assert m["checksum_match"] is True


def test_semi_sync_cut_past_its_timeout_falls_back_and_loses_what_it_acknowledged_after(state_dir, tmp_path):
    out = tmp_path / "partition"
    result = source_kill(state_dir, out, "--rate", "400", "--semi-sync", "after-sync", "--semi-sync-timeout-ms",
                         "1500", "--mode", "partition")
    r = json.loads((out / "result.json").read_text())
    m, ctx = r["measurements"], r["context"]
    assert result.exit_code == 1 and r["passed"] is False, result.output
    assert m["semi_sync_fallback"] is True
    # the source said it: its status variable went OFF about the timeout after the cut, and its log says why
    assert 1.2 <= m["semi_sync_fallback_after_seconds"] <= 4.0
    assert ctx["link_t"] < m["semi_sync_fallback_t"] < ctx["fault_t"]
    assert any("Timeout waiting for reply of binlog" in line for line in m["semi_sync_fallback_log"])
    # ~400 statements/s for the 3 s of cut left after the fallback: hundreds acknowledged, none replicated
    assert m["lost_commits"] > 50 and m["lost_commits_after_fallback"] == m["lost_commits"]
    assert m["semi_sync_no_ack_commits"] > 0  # sampled every 200 ms: the last sample before the kill, a lower bound
    assert "chaos-harness" not in firewall_rules()
    assert m["checksum_match"] is True


def test_sigterm_after_the_promotion_leaves_the_pair_up_with_its_new_roles_recorded(state_dir, tmp_path):
    """On a pair `chaos up` started: the harness stopped by SIGTERM while the old source is down
    heals what it did (the old source started again, read-only), and `chaos status` names the
    source now; no firewall rule, no load process stays."""
    import os
    import signal
    import sys

    from tests.lines import read_until

    up = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "up", "mysql-replication", "--base-port", "3357"])
    assert up.exit_code == 0, up.output
    env = {**os.environ, "CHAOS_STATE_DIR": str(state_dir.path)}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", "source-kill", *BASE, "--down-seconds", "30",
                             "--rate", "300", "--out", str(tmp_path / "run")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    text = read_until(proc.stderr, "is the source now", 90)
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(60) == 130, text + rest
    topo = MysqlReplication.load(state_dir)
    assert topo.source.name == "mysql-2"
    rows = {r["name"]: r for r in topo.status()}
    assert rows["mysql-1"]["process"] == "running" and rows["mysql-2"]["role"] == "source"
    conn = topo.admin(topo.replica)
    with conn.cursor() as cur:
        cur.execute("SELECT @@global.read_only")
        assert cur.fetchone()[0] == 1  # the old source came back read-only: nothing writes to both
    conn.close()
    status = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "status"])
    assert "mysql-2 (127.0.0.22:3358) is the source now" in status.output, status.output
    assert "chaos-harness" not in firewall_rules()
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["interrupted"] is True and result["passed"] is False
