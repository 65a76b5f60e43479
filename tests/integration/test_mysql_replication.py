"""A real MariaDB source → replica pair: up, status, replication, credentials, down."""

import json
import time

import pytest
from click.testing import CliRunner

from chaos.backends.process import pid_status
from chaos.cli import cli
from chaos.topology.mysql_replication import MysqlReplication
from tests.conftest import chaos, require

PORT = "3317"


@pytest.fixture
def pair(torn_down):
    require("mariadbd")
    result = CliRunner().invoke(cli, ["--state-dir", str(torn_down.path), "up", "mysql-replication", "--base-port", PORT])
    assert result.exit_code == 0, result.output
    return torn_down



def test_up_replicates_and_down_stops_everything(pair):
    rows = json.loads(chaos(pair, "status", "--json").output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["mysql-1"]["role"] == "source" and by_name["mysql-1"]["address"] == "127.0.0.21:3317"
    replica = by_name["mysql-2"]
    assert replica["io_thread"] == "Yes" and replica["sql_thread"] == "Yes" and replica["follows"] == "mysql-1"
    topo = MysqlReplication.load(pair)
    source = topo.admin(topo.source)
    with source.cursor() as cur:
        cur.execute("CREATE DATABASE shop")
        cur.execute("CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
        cur.execute("INSERT INTO shop.orders VALUES (1, 42)")
    replica_conn = topo.admin(topo.replica)
    deadline = time.monotonic() + 10
    found = None
    while time.monotonic() < deadline and not found:
        with replica_conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='shop'")
            if cur.fetchone()[0]:
                cur.execute("SELECT total FROM shop.orders WHERE id=1")
                found = cur.fetchone()
        time.sleep(0.05)
    assert found == (42,)
    with replica_conn.cursor() as cur:  # the replica is read-only for ordinary writes
        cur.execute("SELECT @@read_only")
        assert cur.fetchone()[0] == 1
    # the generated passwords are in neither process arguments nor the status output
    secrets = json.loads(topo.secrets_path.read_text())
    for spec in topo.specs:
        cmdline = open(f"/proc/{topo.backend.pid(spec.name)}/cmdline", "rb").read().decode()
        assert secrets["admin"] not in cmdline and secrets["repl"] not in cmdline
    assert secrets["repl"] not in chaos(pair, "status").output
    assert oct(topo.secrets_path.stat().st_mode & 0o777) == "0o600"
    pids = [r["pid"] for r in rows]
    again = chaos(pair, "up", "mysql-replication", "--base-port", PORT)
    assert again.exit_code == 2 and "already up" in again.output
    result = chaos(pair, "down")
    assert result.exit_code == 0 and "stopped 2 node(s)" in result.output
    assert all(pid_status(p, "mariadbd") == "stopped" for p in pids)


def test_load_mysql_reads_back_every_insert(pair, tmp_path):
    out = tmp_path / "load"
    result = chaos(pair, "load", "mysql", "--duration", "3", "--users", "4", "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    inserts = summary["writes"]
    assert inserts["acknowledged"] > 50 and inserts["lost"] == 0 and inserts["unacked_applied"] == 0
    assert "0 lost" in result.output


def test_wrong_credentials_are_a_one_line_error(pair, tmp_path):
    topo = MysqlReplication.load(pair)
    secrets = json.loads(topo.secrets_path.read_text())
    secrets["admin"] = "not-the-password"
    topo.secrets_path.write_text(json.dumps(secrets))
    result = chaos(pair, "run", "replica-stop", "--duration", "1", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("chaos: error:")]
    assert len(errors) == 1 and "refused the credentials" in errors[0] and "Traceback" not in result.output
    assert "not-the-password" not in result.output
    assert "not-the-password" not in "".join(p.read_text(errors="replace") for p in (tmp_path / "run").rglob("*")
                                             if p.is_file())  # nor in any file of the run
