"""One attempt = one recorded operation, whatever the attempt raises."""

import random
import socket
import threading

import pytest

from chaos.clients.resp import Connection, Indeterminate
from chaos.history import HistoryWriter, pair, read_history
from loadgen.redis_workload import RedisWorkload
from loadgen.workload import Drain


class NoClient:
    def refresh(self):
        raise ValueError("refresh broke too")

    def close(self):
        pass


def test_an_unexpected_exception_completes_the_attempt_as_info(tmp_path):
    path = tmp_path / "history.jsonl"
    reports = []
    with HistoryWriter(path, t0=0.0) as history:
        workload = RedisWorkload(1, "r", NoClient(), history, lambda *a: reports.append(a), random.Random(1),
                                 (1, 0, 0), 0, sleep=lambda s: None)

        def broken():
            raise ValueError("invalid literal for int() with base 10: b''")

        assert workload.attempt("write", "k1", "1:0", broken, keep_value=True) == "info"
        assert Drain.in_flight == 0
        assert workload.attempt("write", "k2", "1:1", lambda: ("127.0.0.11:7001", b"OK"), keep_value=True) == "ok"
    pairs = list(pair(read_history(path)))
    assert [(i.key, c.type) for i, c in pairs] == [("k1", "info"), ("k2", "ok")]
    assert "unexpected ValueError" in pairs[0][1].error
    assert [r[1] for r in reports] == ["info", "ok"]


@pytest.fixture
def truncating_peer():
    """A TCP peer on loopback that answers any request with a bulk reply cut short, then closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve():
        conn, _ = server.accept()
        conn.recv(1024)
        conn.sendall(b"$10\r\nabc")  # 10 bytes announced, 3 sent
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()
    thread.join(2)
    server.close()


def test_a_reply_cut_short_by_a_closed_connection_is_indeterminate(truncating_peer):
    host, port = truncating_peer
    conn = Connection(host, port, timeout=2.0)
    with pytest.raises(Indeterminate, match="closed"):
        conn.call("GET", "k")
    assert conn._sock is None  # dropped: the next call reconnects
