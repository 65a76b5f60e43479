import math
import socket
import urllib.request

import pytest

from chaos import __version__
from chaos.errors import ChaosError
from chaos.events import RunEvents
from chaos.metrics import RunMetrics


def parse(text: str) -> dict:
    """Exposition text → {(sample name, frozenset of labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_follow_the_run_events_and_are_served_and_written(tmp_path):
    events = RunEvents()
    metrics = RunMetrics("master-kill", "run-1", server="redis", backend="process", label="nightly",
                         seed=7).listen(events)
    port = free_port()
    metrics.serve(port)
    try:
        events.second.fire(t=1.0, ok=10, fail=2, info=1, buckets=[0, 3, 7] + [0] * 13, sum_ms=4.5)
        events.sample.fire(node="redis-1", up=True, cluster_state="fail", role="master")
        events.sample.fire(node="redis-4", up=True, cluster_state="ok", role="replica")
        events.sample.fire(node="redis-4", up=True, cluster_state="ok", role="master")  # promoted
        events.fault.fire(fault="kill", active=True)
        events.mysql_sample.fire(node="mysql-2", up=True, heartbeat_lag=0.25, seconds_behind_master=None)
        events.measurement.fire(name="failover_seconds", value=2.25)  # known at promotion, before the end
        events.measurement.fire(name="rejoin_seconds", value=None)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        metrics.stop()
    series = parse(body)
    stable = {"backend": "process", "label": "nightly", "scenario": "master-kill", "server": "redis"}

    def value(name, **extra):
        return series.get((name, frozenset({**stable, **extra}.items())))

    # stable labels only: no run id, which would make new series for every run
    assert all("run_id" not in dict(labels) for (name, labels) in series if name != "chaos_run_info")
    assert value("chaos_ops_total", result="ok") == 10 and value("chaos_ops_total", result="info") == 1
    assert value("chaos_op_latency_seconds_bucket", le="0.00025") == 3
    assert value("chaos_op_latency_seconds_count") == 10
    assert value("chaos_cluster_state", node="redis-1") == 0
    assert value("chaos_node_up", node="redis-4", role="master") == 1
    assert value("chaos_node_up", node="redis-4", role="replica") is None  # the old role's series is gone
    assert value("chaos_fault_active", fault="kill") == 1
    assert value("chaos_replication_lag_seconds", method="heartbeat") == 0.25
    assert math.isnan(value("chaos_replication_lag_seconds", method="seconds_behind_master"))
    assert value("chaos_failover_seconds") == 2.25  # live, before the end
    assert value("chaos_rejoin_seconds") is None
    assert value("chaos_run_info", run_id="run-1", seed="7", server_version="", harness_version=__version__) == 1
    assert value("chaos_run_started_timestamp_seconds") > 1.7e9
    assert value("chaos_run_finished_timestamp_seconds") is None  # no verdict yet
    labels = 'backend="process",label="nightly",scenario="master-kill",server="redis"'
    metrics.set_final({"failover_seconds": 2.5, "lost_writes": 0, "rejoin_seconds": None}, passed=True,
                      server_version="7.0.15")
    metrics.write(tmp_path / "metrics.prom")
    text = (tmp_path / "metrics.prom").read_text()
    assert f"chaos_failover_seconds{{{labels}}} 2.5" in text and f"chaos_run_passed{{{labels}}} 1.0" in text
    assert "chaos_rejoin_seconds{" not in text  # unknown stays absent, not 0
    assert f"chaos_run_finished_timestamp_seconds{{{labels}}}" in text
    # the info series was replaced, not duplicated, when the server's version became known
    assert text.count("chaos_run_info{") == 1 and 'server_version="7.0.15"' in text
    assert metrics.textfile_name() == "chaos_master-kill_nightly.prom"


def test_metrics_port_in_use_is_a_one_line_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ChaosError, match=f"127.0.0.1:{port}.*--metrics-port"):
            RunMetrics("x", "y").serve(port)


def test_update_final_metrics_keeps_live_series(tmp_path):
    from chaos.engine import update_final_metrics

    events = RunEvents()
    metrics = RunMetrics("master-kill", "r", server="redis", backend="process").listen(events)
    events.second.fire(t=1.0, ok=5, fail=0, info=0, buckets=[5] + [0] * 15, sum_ms=1.0)
    metrics.set_final({"failover_seconds": 2.0}, passed=True)
    path = tmp_path / "metrics.prom"
    metrics.write(path)
    update_final_metrics(path, {"failover_seconds": 3.5}, passed=False)
    text = path.read_text()
    labels = 'backend="process",label="",scenario="master-kill",server="redis"'
    assert f'chaos_failover_seconds{{{labels}}} 3.5' in text
    assert f'chaos_run_passed{{{labels}}} 0.0' in text
    assert 'chaos_ops_total{backend="process",label="",result="ok",scenario="master-kill",server="redis"} 5.0' in text
    assert f'chaos_op_latency_seconds_count{{{labels}}} 5.0' in text


def test_push_to_a_pushgateway_on_loopback():
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Gateway(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        metrics = RunMetrics("master-kill", "run-9", label="nightly")
        metrics.set_final({"failover_seconds": 1.5}, passed=True)
        assert metrics.push(f"http://127.0.0.1:{server.server_port}") is None
    finally:
        server.shutdown()
    (path, body), = received
    # grouped by what is stable: the next run of the scenario replaces this one's metrics
    assert path == "/metrics/job/chaos/label/nightly/scenario/master-kill"
    assert "chaos_failover_seconds" in body and "1.5" in body
    assert "refused" in RunMetrics("x", "y").push(f"http://127.0.0.1:{free_port()}")
