from reports.markdown import render

RESULT = {
    "scenario": "replica-stop", "run_id": "r1", "backend": "process", "seed": 3, "passed": False,
    "interrupted": False, "started_at": "2026-11-29T15:00:00Z", "finished_at": "2026-11-29T15:00:30Z",
    "fault": {"kind": "kill", "target": "127.0.0.22:3308", "target_role": "replica"},
    "checks": [{"name": "checksums_match", "passed": False, "value": "app.accounts", "threshold": None},
               {"name": "catchup_seconds<=30", "passed": True, "value": 2.5, "threshold": "<=30"}],
    "measurements": {
        "catchup_seconds": 2.5, "lost_rows": 0,
        "ops": {"ok": 10, "fail": 1, "info": 0, "by_f": {"insert": {"ok": 10, "fail": 1, "info": 0}}},
        "latency_ms": {"warmup": {"count": 10, "p50": 1.5, "p95": 2.0, "p99": 3.0, "max": 4.0}},
        "tables": {"tables": [{"database": "app", "table": "accounts", "source_rows": 2, "replica_rows": 2,
                               "source_checksum": 11, "replica_checksum": 12, "match": False}]},
    },
    "topology": {"before": [{"name": "mysql-1", "address": "127.0.0.21:3307", "role": "source"}]},
    "context": {"fault_t": 50.2},
    "per_second": [[float(t), 1000, 5 if t == 70 else 0, 0, 1.0, 3.0] for t in range(1, 101)],
}


def test_report_shows_verdict_checks_measurements_and_tables():
    text = render(RESULT)
    assert text.startswith("# replica-stop — FAILED")
    assert "Fault: **kill** of `127.0.0.22:3308` (replica)" in text
    assert "| checksums_match | **no** | app.accounts |  |" in text
    assert "| catchup_seconds | 2.500 |" in text
    assert "| insert | 10 | 1 | 0 |" in text
    assert "| app.accounts | 2/2 | 11/12 | **no** |" in text
    assert "| mysql-1 | 127.0.0.21:3307 | source |" in text
    # 100 seconds: only those around the fault and those with errors are listed
    per_second = [line for line in text.splitlines() if line.startswith("| ") and line.endswith("| 1.000 | 3.000 |")]
    assert [line.split(" | ")[0] for line in per_second] == [f"| {t}" for t in (48, 49, 50, 51, 52, 53, 70)]


def test_interrupted_report():
    assert render({**RESULT, "interrupted": True}).startswith("# replica-stop — INTERRUPTED")


def test_attached_runs_say_so_in_the_report():
    from reports.markdown import attached_line

    redis_line = attached_line({"target": "127.0.0.1:7711", "roles_changed": ["redis-node-1 is now a replica (was master)"]})
    assert redis_line == ("Attached to the Redis Cluster at `127.0.0.1:7711`, not started by the harness. "
                          "Afterwards: redis-node-1 is now a replica (was master).")
    mysql_line = attached_line({"source": "127.0.0.1:3361", "replica": "127.0.0.1:3362",
                                "replication": "binlog position", "database": "chaos_run1"})
    assert "replica `127.0.0.1:3362` (binlog position; the run's tables in `chaos_run1`)" in mysql_line
