"""The client view's pure parts on literal data: what one library's history says (blocked and open
calls, errors by class, recovery per worker), the --clients names, the report's table."""

import pytest

from chaos.appclients import parse_clients
from chaos.checkers import run
from chaos.checkers.client_view import ClientViewChecker, error_class
from chaos.errors import ChaosError
from chaos.history import Op
from reports import client_view


def op(i, t, type_, process, f="write", key="k", error=None):
    return Op(i, t, 1000.0 + t, type_, process, f, f"{key}{i}", None, None, error)


def history():
    """Worker 0 blocks 6 s on the fault and then succeeds; worker 1 fails twice, then succeeds
    after the promotion; worker 2 is still waiting when the history ends; worker 3 fails last."""
    return [
        op(0, 9.0, "invoke", 0), op(1, 9.1, "ok", 0),
        op(2, 10.1, "invoke", 0),
        op(3, 10.2, "invoke", 1), op(4, 10.5, "info", 1, error="ConnectionError: Error 111 connecting"),
        op(5, 10.6, "invoke", 1), op(6, 11.0, "info", 1, error="ConnectionError: Error 111 connecting"),
        op(7, 11.1, "invoke", 2),
        op(8, 13.5, "invoke", 1), op(9, 13.6, "ok", 1),
        op(10, 16.1, "ok", 0),
        op(11, 16.2, "invoke", 3), op(12, 16.4, "info", 3, error="Error: Connection is closed."),
        op(13, 19.0, "invoke", 0), op(14, 19.1, "ok", 0),
    ]


def test_blocked_and_open_calls_errors_and_recovery_per_worker():
    checker = ClientViewChecker(fault_t=10.0, promoted_t=13.0)
    run(history(), checker)
    r = checker.result()
    assert r["calls"] == 8 and r["workers"] == 4
    # worker 2's call opened at 11.1 and was still open at 19.1: 8 s, longer than any completed call
    assert r["open_at_end"] == 1 and r["longest_call_seconds"] == pytest.approx(8.0)
    assert r["longest_call"]["open_at_end"] is True
    # completed: 6.0 s (worker 0); open: 8.0 s — both over 1 s and 5 s, none over 30 s
    assert r["blocked_calls"] == {"over_1s": 2, "over_5s": 2, "over_30s": 0}
    assert list(r["errors"]) == ["ConnectionError", "Error (Connection is closed.)"]
    assert r["errors"]["ConnectionError"]["count"] == 2
    assert r["errors"]["ConnectionError"]["first"] == pytest.approx(0.5)  # relative to the fault
    assert r["errors"]["ConnectionError"]["last"] == pytest.approx(1.0)
    assert r["errors_total"] == 3
    # first success after the promotion (13.0): worker 1 at 13.6, worker 0 at 16.1
    assert r["recovery_seconds"]["recovered"] == 2
    assert r["recovery_seconds"]["max"] == pytest.approx(3.1)
    assert {w["worker"] for w in r["still_failing"]} == {2, 3} and r["all_recovered"] is False
    # 5 s after the promotion (18.0): workers 2 and 3 had no success yet; 0 and 1 had
    assert r["failing_5s_after"] == [{"worker": 2, "last_error": None},
                                     {"worker": 3, "last_error": "Error: Connection is closed."}]


def test_without_a_promotion_recovery_counts_from_the_fault():
    checker = ClientViewChecker(fault_t=10.0, promoted_t=None)
    run([op(0, 10.5, "invoke", 0), op(1, 12.0, "ok", 0)], checker)
    r = checker.result()
    assert r["recovery_seconds"] == {"median": 2.0, "max": 2.0, "recovered": 1}
    assert r["all_recovered"] is True and r["errors"] == {} and r["open_at_end"] == 0


def test_error_classes_keep_what_tells_failures_apart():
    assert error_class("ConnectionError: Error 111 connecting to 127.0.0.12:7402.") == "ConnectionError"
    assert error_class("Error: connect ECONNREFUSED 127.0.0.12:7402") == "Error (connect ECONNREFUSED N.N.N.N:N)"
    assert error_class(None) == "unknown" and error_class("a sentence without a class") == "unknown"


def test_clients_are_named_with_optional_versions_and_bad_names_refused():
    specs = parse_clients("redis-py, redis-py@7,ioredis@5.11.1,valkey-glide,node-redis")
    assert [s.label for s in specs] == ["redis-py", "redis-py@7", "ioredis@5.11.1", "valkey-glide", "node-redis"]
    assert [s.requirement for s in specs] == ["redis", "redis==7.*", "ioredis@5.11.1", "valkey-glide", "redis"]
    assert specs[1].slug == "redis-py-7" and specs[0].home.name == "redis-py-latest"
    assert parse_clients(None) == [] and parse_clients("") == []
    with pytest.raises(ChaosError, match="unknown client 'jedis'; known: redis-py"):
        parse_clients("jedis")
    with pytest.raises(ChaosError, match="MAJOR"):
        parse_clients("redis-py@latest")
    with pytest.raises(ChaosError, match="named twice"):
        parse_clients("ioredis,ioredis")


def test_report_table_has_a_row_per_client_with_the_numbers_behind_it():
    m = {"clients": [{
        "client": "ioredis", "version": "5.11.1", "write_unavailable_seconds": 8.01, "excess_over_recorder_seconds": 1.85,
        "write_unavailable_seconds_any_slot": 7.8, "longest_call_seconds": 7.9,
        "blocked_calls": {"over_1s": 4, "over_5s": 4, "over_30s": 0}, "open_at_end": 0,
        "errors": {"Error (Connection is closed.)": {"count": 3}}, "workers": 4,
        "recovery_seconds": {"median": 2.38, "max": 2.39, "recovered": 4}, "still_failing": [],
        "lost_writes": 4, "lost_increments": 0, "unacked_applied_writes": 0, "unacked_applied_increments": 1}]}
    (row,) = client_view.rows(m)
    assert row[0] == "ioredis 5.11.1" and row[1] == "8.01 s" and row[2] == "+1.85 s"
    assert row[5] == "4 / 4 / 0" and row[7] == "Error (Connection is closed.) ×3"
    assert row[8] == "4/4 (median 2.38 s, max 2.39 s)" and row[9] == "4" and row[11] == "1"
    md = "\n".join(client_view.markdown(m))
    assert "## What your application would see" in md and md.count("\n| ioredis 5.11.1 |") == 1
    assert client_view.markdown({}) == []


def test_the_servers_counters_become_rates_per_window_across_a_restart():
    from chaos.observe.redis_stats import parse_counters, rates

    info = ("# Commandstats\r\ncmdstat_cluster|slots:calls=12,usec=340,usec_per_call=28.33\r\n"
            "cmdstat_get:calls=5,usec=1\r\n# Stats\r\ntotal_connections_received:40\r\n# Server\r\nrun_id:ab12\r\n")
    assert parse_counters(info) == {"cluster_slots": 12, "cluster_shards": 0, "connections": 40, "run_id": "ab12"}
    a, b = "127.0.0.11:7001", "127.0.0.12:7002"
    samples = [
        {"time": 0.0, "node": a, "cluster_slots": 10, "cluster_shards": 0, "connections": 5},
        {"time": 0.0, "node": b, "cluster_slots": 0, "cluster_shards": 0, "connections": 2},
        {"time": 2.0, "node": a, "cluster_slots": 12, "cluster_shards": 0, "connections": 7},
        {"time": 2.0, "node": b, "up": False},  # killed
        {"time": 4.0, "node": a, "cluster_slots": 52, "cluster_shards": 0, "connections": 27},
        {"time": 4.0, "node": b, "cluster_slots": 3, "cluster_shards": 1, "connections": 3, "run_id": "new"},
        {"time": 6.0, "node": a, "cluster_slots": 54, "cluster_shards": 0, "connections": 28},
    ]
    r = rates(samples, {"before": (0.0, 2.0), "during": (2.0, 4.0), "after": (4.0, 6.0)})
    assert r["before"] == {"cluster_slots_per_second": 1.0, "cluster_shards_per_second": 0.0,
                           "connections_per_second": 1.0, "seconds": 2.0}
    # node a: +40 calls, +20 connections; node b restarted (a new run_id): from 0, +3 calls, +1, +3 connections
    assert r["during"]["cluster_slots_per_second"] == 21.5 and r["during"]["connections_per_second"] == 11.5
    assert r["during"]["cluster_shards_per_second"] == 0.5 and r["after"]["cluster_slots_per_second"] == 1.0


def test_the_vendor_profile_is_the_documented_settings_or_nothing():
    from chaos.appclients import LIBRARIES, settings_for

    assert settings_for(LIBRARIES["redis-py"], "vendor") == {"socket_connect_timeout": 0.1, "socket_timeout": 2.0}
    assert "docs.aws.amazon.com" in LIBRARIES["redis-py"].vendor_source
    assert settings_for(LIBRARIES["redis-py"], "defaults") == {}
    assert settings_for(LIBRARIES["ioredis"], "vendor") == {}  # nothing written down: its defaults
    row = client_view.rows({"clients": [{"client": "redis-py", "version": "8.1.0", "settings": {"socket_timeout": 2.0},
                                         "blocked_calls": {}, "errors": {}, "recovery_seconds": {}}]})[0]
    assert row[0] == "redis-py 8.1.0 (vendor: socket_timeout=2.0)"
