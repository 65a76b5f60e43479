"""Throw-away certificates (chaos.tls): a handshake on loopback verifies them the way a client
does (the CA, and the address the server was reached at), and the keys are private."""

import socket
import ssl
import threading

import pytest

from chaos import tls
from chaos.topology.mysql_dialect import dialect_of


def handshake(files, ca, host):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files.cert, files.key)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.recv(1)
        except (ssl.SSLError, OSError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                client_ctx.wrap_socket(raw, server_hostname=host) as c:
            c.send(b"x")
            return c.version()
    finally:
        t.join(5)
        listener.close()


def test_a_server_certificate_verifies_against_its_ca_for_its_addresses_only(tmp_path):
    files = tls.make_certificates(tmp_path / "tls", ["127.0.0.1", "127.0.0.22"])
    assert handshake(files, files.ca, "127.0.0.1").startswith("TLS")
    with pytest.raises(ssl.SSLCertVerificationError):  # an address the certificate does not name
        handshake(files, files.ca, "127.0.0.23")
    other = tls.make_certificates(tmp_path / "other", ["127.0.0.1"])
    with pytest.raises(ssl.SSLCertVerificationError):  # another state directory's CA
        handshake(files, other.ca, "127.0.0.1")
    for key in (files.key, tmp_path / "tls" / tls.CA_KEY_FILE):
        assert key.stat().st_mode & 0o777 == 0o600
    copied = tls.copy_to(files, tmp_path / "node" / "tls")
    assert copied.key.stat().st_mode & 0o777 == 0o600 and copied.cert.read_bytes() == files.cert.read_bytes()
    assert tls.pymysql_args(None) == {}
    assert tls.pymysql_args(files.ca) == {"ssl_ca": str(files.ca), "ssl_verify_cert": True,
                                          "ssl_verify_identity": True}


def test_replication_over_tls_is_verified_on_both_server_families():
    sql, args = dialect_of("10.11.6-MariaDB").change_source("127.0.0.21", 3307, "repl", "pw", ca="/n/tls/ca.pem")
    assert "MASTER_SSL=1, MASTER_SSL_CA=%s, MASTER_SSL_VERIFY_SERVER_CERT=1, MASTER_USE_GTID=slave_pos" in sql
    assert args == ("127.0.0.21", 3307, "repl", "pw", "/n/tls/ca.pem") and sql.count("%s") == len(args)
    sql, args = dialect_of("9.7.0").change_source("127.0.0.21", 3307, "repl", "pw", ("binlog.000002", 99),
                                                  ca="/n/tls/ca.pem")
    assert "SOURCE_SSL=1, SOURCE_SSL_CA=%s, SOURCE_SSL_VERIFY_SERVER_CERT=1, SOURCE_LOG_FILE=%s" in sql
    assert args[-3:] == ("/n/tls/ca.pem", "binlog.000002", 99) and sql.count("%s") == len(args)
    plain, _ = dialect_of("10.11.6-MariaDB").change_source("h", 1, "u", "p", tls=False)
    assert "MASTER_SSL=0" in plain and "SSL_CA" not in plain
