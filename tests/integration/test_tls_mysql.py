"""A MariaDB pair that speaks only TLS (`chaos up mysql-replication --tls`): a plain login is
refused by the server, every connection of the harness, its load and the replication channel
verifies the throw-away CA, replica-stop passes on it, and `chaos down` removes the keys."""

import json

import pymysql
import pytest

from chaos import tls
from chaos.state import StateDir
from chaos.topology.mysql_replication import MysqlReplication, scalar
from tests.conftest import chaos, require

PORT = "3557"


def test_replica_stop_on_a_pair_that_speaks_only_tls(torn_down, tmp_path):
    require("mariadbd")
    state = torn_down
    up = chaos(state, "up", "mysql-replication", "--base-port", PORT, "--tls")
    assert up.exit_code == 0, up.output
    topo = MysqlReplication.load(state)
    tls_dir = state.topology_dir("mysql-replication") / "tls"
    assert {p.name for p in tls_dir.iterdir()} == {"ca.pem", "ca-key.pem", "server-cert.pem", "server-key.pem"}
    assert all((tls_dir / k).stat().st_mode & 0o777 == 0o600 for k in ("ca-key.pem", "server-key.pem"))
    # the server refuses a login without TLS, whatever the password (PyMySQL 2 tries TLS unless told not to)
    with pytest.raises(pymysql.err.OperationalError, match="Access denied|insecure transport"):
        pymysql.connect(host=topo.source.host, port=topo.source.port, user=topo.admin_user,
                        password=topo.secrets["admin"], connect_timeout=5, ssl_disabled=True)
    # the harness's own connections are TLS (REQUIRE SSL users on a TLS-only server)
    conn = topo.admin(topo.source)
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1].startswith("TLS")
    assert scalar(conn, "SELECT @@require_secure_transport") == 1
    conn.close()
    # the replication channel: verified TLS, the replication user REQUIREs it
    replica = topo.admin(topo.replica)
    with replica.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW SLAVE STATUS")
        status = cur.fetchone()
    replica.close()
    assert status["Master_SSL_Allowed"] == "Yes" and status["Master_SSL_Verify_Server_Cert"] == "Yes"
    assert status["Slave_IO_Running"] == "Yes"
    out = tmp_path / "run"
    result = chaos(state, "run", "replica-stop", "--base-port", PORT, "--tls", "--mode", "kill", "--duration", "6",
                   "--warmup", "2", "--down-seconds", "2", "--users", "4", "--rate", "300", "--out", str(out))
    assert result.exit_code == 0, result.output
    r = json.loads((out / "result.json").read_text())
    assert r["passed"] and r["measurements"]["lost_rows"] == 0 and r["measurements"]["ops"]["ok"] > 500
    # neither a private key nor a password in the run's files
    secrets = [topo.secrets["admin"], topo.secrets["repl"], (tls_dir / "server-key.pem").read_text().splitlines()[1]]
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".zst" and path.stat().st_size < 50_000_000:
            text = path.read_bytes().decode(errors="replace")
            assert not any(s in text for s in secrets), path
    # the same pair attached (--source/--replica) from a state directory of its own: TLS needs --tls-ca
    other = StateDir(tmp_path / "attach-state")
    attach = ["run", "replica-stop", "--source", f"mysql://chaos@{topo.source.address}", "--replica",
              f"mysql://chaos@{topo.replica.address}", "--password-env", "CHAOS_PW", "--mode", "sql-thread"]
    env = {"CHAOS_PW": topo.secrets["admin"]}
    wrong = tls.make_certificates(tmp_path / "another-ca", [topo.source.host, topo.replica.host])
    refused = chaos(other, *attach, "--tls-ca", str(wrong.ca), "--out", str(tmp_path / "wrong-ca"), env=env)
    assert refused.exit_code == 2 and "CERTIFICATE_VERIFY_FAILED" in refused.output, refused.output
    assert len(refused.output.strip().splitlines()) == 1, refused.output
    attached = chaos(other, *attach, "--tls-ca", str(tls_dir / "ca.pem"), "--duration", "5", "--warmup", "2",
                     "--down-seconds", "2", "--users", "4", "--rate", "300", "--out", str(tmp_path / "attached"), env=env)
    assert attached.exit_code == 0, attached.output
    chaos(other, "down")
    down = chaos(state, "down")
    assert down.exit_code == 0, down.output
    assert not tls_dir.exists()
