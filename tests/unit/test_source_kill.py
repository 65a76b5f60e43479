"""source-kill's pure parts on literal data: the promotion statements each server spells, errant
transactions from GTID states, the semi-sync fallback found in the role watch's samples, the
load's endpoint, and the options it refuses."""

import json

import pytest

from chaos.checkers.replication import gtid_count, gtid_set_minus, mariadb_errant, parse_mariadb_state
from chaos.errors import ChaosError
from chaos.topology.mysql_dialect import MARIADB, MYSQL
from chaos.topology.mysql_replication import set_read_only_in_cnf
from loadgen.mysql_workload import current_endpoint
from scenarios.source_kill import SourceKillConfig, _role_timeline, fallback_evidence, write_endpoint


def test_promotion_statements_per_server_none_that_8_4_removed():
    spelled = " ".join([MYSQL.stop_replica_sql, MYSQL.reset_replica_all_sql, MYSQL.reset_binlogs_sql,
                        *MYSQL.semi_sync_plugins("source"), *MYSQL.semi_sync_plugins("replica")])
    assert "SLAVE" not in spelled and "MASTER" not in spelled
    assert MYSQL.reset_binlogs_sql == "RESET BINARY LOGS AND GTIDS"
    assert MYSQL.semi_sync_status_var == "Rpl_semi_sync_source_status"
    assert MYSQL.semi_sync_plugins("source") == ["INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'"]
    assert (MARIADB.stop_replica_sql, MARIADB.reset_replica_all_sql) == ("STOP SLAVE", "RESET SLAVE ALL")
    assert MARIADB.semi_sync_status_var == "Rpl_semi_sync_master_status" and MARIADB.semi_sync_plugins("source") == []
    assert MARIADB.semi_sync_no_tx_var == "Rpl_semi_sync_master_no_tx"


def test_what_the_io_thread_received_comes_back_in_neutral_names():
    mysql = MYSQL.replica_status({"Retrieved_Gtid_Set": "u:1-9", "Source_Log_File": "binlog.000002",
                                  "Read_Source_Log_Pos": 900})
    assert mysql["received_gtid"] == "u:1-9" and MYSQL.received_position(mysql) == "binlog.000002@900"
    mariadb = MARIADB.replica_status({"Gtid_IO_Pos": "0-1-9", "Master_Log_File": "binlog.000001",
                                      "Read_Master_Log_Pos": 4})
    assert mariadb["received_gtid"] == "0-1-9" and MARIADB.received_position(mariadb) == "binlog.000001@4"
    assert MYSQL.received_position({}) is None


def test_mariadb_errant_transactions_are_per_server_not_per_domain():
    assert parse_mariadb_state("0-1-100,0-2-140\n,1-1-5") == {(0, 1): 100, (0, 2): 140, (1, 1): 5}
    # the new source wrote past the old one's sequence numbers: a per-domain comparison would see nothing
    assert mariadb_errant("0-1-105", "0-1-100,0-2-140") == [(0, 1, 101, 105)]
    assert mariadb_errant("0-1-100", "0-1-100,0-2-140") == []
    assert mariadb_errant("0-1-7,1-1-3", "0-2-9") == [(0, 1, 1, 7), (1, 1, 1, 3)]


def test_mysql_errant_transactions_are_the_set_difference_counted():
    diff = gtid_set_minus("a:1-100,b:1-5", "a:1-97,b:1-5,c:1-40")
    assert diff == {"a": [(98, 100)]} and gtid_count(diff) == 3
    assert gtid_count(gtid_set_minus("a:1-10:20-30", "a:1-5")) == 16


def _roles(tmp_path, samples):
    (tmp_path / "roles.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples) + '{"cut')
    return _role_timeline(tmp_path, "mysql-1", kill_t=10.0)


def test_the_fallback_is_when_the_old_source_said_semi_sync_went_off(tmp_path):
    on = {"node": "mysql-1", "up": True, "semi_sync": True, "semi_sync_no_tx": 0}
    found = _roles(tmp_path, [{**on, "time": 1.0}, {**on, "time": 4.0, "node": "mysql-2", "semi_sync": False},
                              {**on, "time": 4.2}, {**on, "time": 4.4, "semi_sync": False, "semi_sync_no_tx": 12},
                              {**on, "time": 4.6, "semi_sync": True}, {**on, "time": 11.0, "semi_sync": False}])
    assert found == {"seen_on": True, "fallback_t": 4.4, "last_on_t": 4.2, "no_ack_commits": 12}


def test_no_fallback_when_semi_sync_stayed_on_or_never_was(tmp_path):
    on = {"node": "mysql-1", "up": True, "semi_sync": True, "time": 1.0}
    assert _roles(tmp_path, [on, {**on, "time": 9.9}, {**on, "up": False, "time": 10.5}])["fallback_t"] is None
    never = _roles(tmp_path, [{**on, "semi_sync": None}, {**on, "semi_sync": False, "time": 2.0}])
    assert never["seen_on"] is False and never["fallback_t"] is None


def test_the_fallback_evidence_is_the_servers_own_log_lines(tmp_path):
    log = tmp_path / "error.log"
    log.write_text("2026-12-02  3:14:10 0 [Note] ready\n"
                   "2026-12-02  3:14:18 20 [Warning] Timeout waiting for reply of binlog (file: binlog.000001, pos: 9), "
                   "semi-sync up to file binlog.000001, position 3.\n"
                   "2026-12-02  3:14:18 20 [Note] Semi-sync replication switched OFF.\n")
    lines = fallback_evidence(log)
    assert len(lines) == 2 and "Timeout waiting for reply" in lines[0]
    assert fallback_evidence(tmp_path / "missing.log") == []


def test_the_load_follows_the_endpoint_file_and_falls_back_to_the_fixed_address(tmp_path):
    from pathlib import Path
    from types import SimpleNamespace

    m = {"host": "127.0.0.21", "port": 3307, "endpoint_file": str(tmp_path / "endpoint.json")}
    assert current_endpoint(m) == ("127.0.0.21", 3307)  # not written yet
    write_endpoint(tmp_path, SimpleNamespace(host="127.0.0.22", port=3308, name="mysql-2"))
    assert current_endpoint(m) == ("127.0.0.22", 3308)
    assert not list(Path(tmp_path).glob("*.tmp"))
    (tmp_path / "endpoint.json").write_text("{broken")
    assert current_endpoint(m) == ("127.0.0.21", 3307)


def test_read_only_is_turned_on_and_off_in_a_nodes_config(tmp_path):
    cnf = tmp_path / "my.cnf"
    cnf.write_text("[mysqld]\nport=3308\nread_only=1\n")
    set_read_only_in_cnf(cnf, False)
    assert "read_only" not in cnf.read_text() and "port=3308" in cnf.read_text()
    set_read_only_in_cnf(cnf, True)
    set_read_only_in_cnf(cnf, True)
    assert cnf.read_text().count("read_only=1") == 1


@pytest.mark.parametrize("kwargs, word", [
    ({"source": "mysql://root@127.0.0.1:3306", "replica": "mysql://root@127.0.0.1:3307"}, "only on a pair"),
    ({"semi_sync_timeout_ms": 0}, "--semi-sync-timeout-ms"),
    ({"partition_seconds": 70.0}, "--partition-seconds"),
    ({"down_seconds": -1.0}, "--down-seconds"),
])
def test_options_source_kill_refuses(kwargs, word):
    with pytest.raises(ChaosError, match=word):
        SourceKillConfig(**kwargs).validate()


def test_the_cut_outlasts_the_semi_sync_timeout_by_default():
    assert SourceKillConfig(semi_sync="after-sync", semi_sync_timeout_ms=2000).cut_seconds == 5.0
    assert SourceKillConfig().cut_seconds == 3.0
    assert SourceKillConfig(partition_seconds=7.5).cut_seconds == 7.5
