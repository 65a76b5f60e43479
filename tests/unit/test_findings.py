"""Settings that can hide a loss or a divergence are findings, never failures (on literal
variables of a source and a replica)."""

from chaos.checkers.compose import evaluate
from chaos.topology.mysql_compare import findings

SAFE_SOURCE = {"sync_binlog": "1", "innodb_flush_log_at_trx_commit": "1", "binlog_format": "ROW"}
SAFE_REPLICA = {**SAFE_SOURCE, "read_only": "ON", "super_read_only": "ON", "slave_skip_errors": "OFF",
                "relay_log_recovery": "OFF"}


def test_a_safe_pair_has_no_finding():
    assert findings(SAFE_SOURCE, SAFE_REPLICA, by_gtid=True, counts_skips=True) == []


def test_the_runbook_settings_each_give_one_finding_with_why():
    replica = {**SAFE_REPLICA, "replica_skip_errors": "1062", "super_read_only": "OFF", "sync_binlog": "0"}
    source = {**SAFE_SOURCE, "binlog_format": "MIXED", "innodb_flush_log_at_trx_commit": "2"}
    found = findings(source, replica, by_gtid=False, counts_skips=False)
    assert [(f["server"], f["setting"]) for f in found] == [
        ("replica", "replica_skip_errors"), ("replica", "super_read_only"), ("replica", "relay_log_recovery"),
        ("source", "innodb_flush_log_at_trx_commit"), ("replica", "sync_binlog"), ("source", "binlog_format")]
    assert "the data comparison is the only witness" in found[0]["why"]  # MySQL counts no skipped error
    assert all(f["why"] for f in found)


def test_a_skip_setting_alone_does_not_fail_the_run_but_a_skipped_error_does():
    from scenarios.replica_stop import CHECKS

    [check] = [c for c in CHECKS if c.name == "no_replication_errors"]
    clean = {"count": 0, "slave_skip_errors": "1062"}  # the setting is there, nothing was skipped
    skipped = {"count": 2, "skipped_errors": 2, "slave_skip_errors": "1062"}
    assert evaluate([check], {"replication_error_detail": clean})[0]["status"] == "pass"
    [failed] = evaluate([check], {"replication_error_detail": skipped})
    assert failed["status"] == "fail" and failed["value"] == 2  # the value shown is what it judged
