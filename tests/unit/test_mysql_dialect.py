"""The replication dialects on literal data: chosen from the server's own version string, each
spelling its statements, replica status rows in neutral names."""

from chaos.checkers.replication import gtid_reached
from chaos.topology.mysql_dialect import MARIADB, MYSQL, dialect_of


def test_the_dialect_follows_the_servers_version_string():
    assert dialect_of("10.11.6-MariaDB-0+deb12u1-log") is MARIADB
    assert dialect_of("11.8.3-MariaDB-1 from Debian") is MARIADB
    assert dialect_of("9.7.4") is MYSQL and dialect_of("8.4.6") is MYSQL


def test_mysql_has_none_of_the_statements_8_4_removed():
    spelled = " ".join([MYSQL.replica_status_sql, MYSQL.start_replica_sql, MYSQL.stop_sql_thread_sql,
                        MYSQL.start_sql_thread_sql, MYSQL.change_source("h", 1, "u", "p")[0]])
    for removed in ("SLAVE", "MASTER"):
        assert removed not in spelled
    sql, args = MYSQL.change_source("127.0.0.21", 3307, "repl", "secret")
    assert "SOURCE_AUTO_POSITION=1" in sql and "GET_SOURCE_PUBLIC_KEY=1" in sql and args == (
        "127.0.0.21", 3307, "repl", "secret")
    assert "MASTER_USE_GTID=slave_pos" in MARIADB.change_source("h", 1, "u", "p")[0]


def test_replica_status_rows_come_back_in_neutral_names():
    mariadb = MARIADB.replica_status({"Slave_IO_Running": "Yes", "Slave_SQL_Running": "No", "Seconds_Behind_Master": None,
                                      "Master_Host": "127.0.0.21", "Master_Port": 3307, "Last_SQL_Errno": 1062,
                                      "Using_Gtid": "Slave_Pos"})
    mysql = MYSQL.replica_status({"Replica_IO_Running": "Yes", "Replica_SQL_Running": "No",
                                  "Seconds_Behind_Source": None, "Source_Host": "127.0.0.21", "Source_Port": 3307,
                                  "Last_SQL_Errno": 1062, "Auto_Position": 1})
    assert {k: v for k, v in mariadb.items() if k != "using_gtid"} == {k: v for k, v in mysql.items() if k != "using_gtid"}
    assert mariadb["sql_running"] == "No" and mariadb["last_sql_errno"] == 1062 and mariadb["seconds_behind"] is None
    assert MARIADB.uses_gtid(mariadb) and not MARIADB.uses_gtid(MARIADB.replica_status({"Using_Gtid": "No"}))
    assert not MYSQL.uses_gtid(MYSQL.replica_status({"Auto_Position": 0}))
    assert MARIADB.replica_status(None) == {} == MYSQL.replica_status({})


def test_both_positions_are_gtid_sets_the_catch_up_can_compare():
    assert gtid_reached("0-1-1500", "0-1-1234") and not gtid_reached("0-1-1000", "0-1-1234")
    uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
    assert gtid_reached(f"{uuid}:1-1500", f"{uuid}:1-1234") and not gtid_reached(f"{uuid}:1-99", f"{uuid}:1-1234")


def test_position_mode_reads_coordinates_and_spells_them_per_server():
    from chaos.checkers.replication import binlog_position, parse_binlog_position, position_reached

    sql, args = MYSQL.change_source("127.0.0.21", 3307, "slave", "pw", ("mysql-bin.000002", 692))
    assert "SOURCE_LOG_FILE=%s, SOURCE_LOG_POS=%s, SOURCE_AUTO_POSITION=0" in sql and "MASTER" not in sql
    assert args[-2:] == ("mysql-bin.000002", 692)
    assert "MASTER_LOG_POS=%s, MASTER_USE_GTID=no" in MARIADB.change_source("h", 1, "u", "p", ("b.000001", 4))[0]
    assert MYSQL.binlog_status_sql == "SHOW BINARY LOG STATUS" and MARIADB.binlog_status_sql == "SHOW MASTER STATUS"
    target = binlog_position("mysql-bin.000002", 1381)
    assert target == "mysql-bin.000002@1381" and parse_binlog_position(target) == ("mysql-bin.000002", 1381)
    assert parse_binlog_position("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5") is None  # a GTID set is no position
    assert position_reached("mysql-bin.000002@1381", target) and position_reached("mysql-bin.000003@4", target)
    assert not position_reached("mysql-bin.000002@1380", target) and not position_reached(None, target)
    status = MYSQL.replica_status({"Relay_Source_Log_File": "mysql-bin.000002", "Exec_Source_Log_Pos": 1381})
    assert MYSQL.applied_position(status) == target and MYSQL.applied_position({}) is None
    assert MARIADB.applied_position(MARIADB.replica_status(
        {"Relay_Master_Log_File": "mysql-bin.000002", "Exec_Master_Log_Pos": 1381})) == target


def test_catch_up_in_position_mode_is_judged_by_the_appliers_source_position():
    from chaos.checkers.replication import is_caught_up

    base = {"up": True, "heartbeat_lag": 0.2, "sql_thread": "Yes", "gtid": ""}
    assert is_caught_up({**base, "applied_pos": "b.000002@900"}, "b.000002@900")
    assert not is_caught_up({**base, "applied_pos": "b.000002@899"}, "b.000002@900")
    assert is_caught_up({**base, "gtid": "0-1-10"}, "0-1-10") and not is_caught_up({**base, "gtid": "0-1-9"}, "0-1-10")


def test_the_applier_lag_and_null_seconds_behind_are_summarised():
    from chaos.checkers.replication import lag_summary

    samples = [{"time": 1.0, "up": True, "heartbeat_lag": 0.1, "seconds_behind_master": 0, "applier_lag": 0.05},
               {"time": 2.0, "up": True, "heartbeat_lag": 2.0, "seconds_behind_master": None, "applier_lag": None},
               {"time": 2.5, "up": False},
               {"time": 3.0, "up": True, "heartbeat_lag": 2.9, "seconds_behind_master": 2, "applier_lag": 2.85,
                "sql_thread": "Yes", "gtid": "0-1-5"}]
    summary = lag_summary(samples, 1.5, 2.8, "0-1-9")
    assert summary["max_applier_lag_seconds"] == 2.85 and summary["seconds_behind_null_samples"] == 1
    assert summary["max_lag_seconds"] == 2.9 and summary["catchup_seconds"] is None  # 0-1-5 is short of 0-1-9


def test_skipped_errors_are_counted_from_mysqls_notes_not_its_errors():
    from chaos.topology.mysql_compare import count_skipped_in_log

    worker = "[Repl] Replica SQL for channel '': Worker"
    log = "\n".join([
        f"2026-12-01T23:52:50.013171Z 13 [Note] [MY-010584] {worker} 1 failed executing transaction 'x:5' at source "
        "log mysql-bin.000002, end_log_pos 1350; Could not execute Query event. Detailed error: Duplicate entry '1' "
        "for key 's.PRIMARY';, Error_code: MY-001062",
        f"2026-12-01T23:52:51.000000Z 13 [ERROR] [MY-010584] {worker} 1 failed executing transaction 'x:6'; "
        "Error_code: MY-001032",
        "2026-12-01T23:52:52.000000Z 0 [Note] [MY-010581] [Repl] Replica SQL thread for channel '' initialized",
        f"2026-12-01T23:52:53.013171Z 13 [Note] [MY-010584] {worker} 2 failed executing transaction 'x:9'; "
        "Error_code: MY-001062", ""])
    assert count_skipped_in_log(log) == 2 and count_skipped_in_log("") == 0


def test_row_differences_name_missing_extra_and_changed_rows_in_key_order():
    from chaos.topology.mysql_compare import diff_digests

    d = diff_digests({1: "a", 2: "b", 3: "c", 5: "e"}, {1: "x", 3: "c", 4: "d", 5: "e"}, limit=2)
    assert (d["missing_on_replica"], d["only_on_replica"], d["differing"]) == (1, 1, 1)
    assert d["rows"] == [{"key": 1, "problem": "differs"}, {"key": 2, "problem": "missing on the replica"}]
    assert diff_digests({1: "a"}, {1: "a"})["rows"] == []


def test_position_mode_and_skip_errors_in_the_servers_config(tmp_path):
    from chaos.backends.base import NodeSpec
    from chaos.topology.mysql_replication import server_config

    spec = NodeSpec(name="mysql-2", kind="mysql", host="127.0.0.22", port=3308, dir=tmp_path, argv=["mysqld"])
    mysql = server_config(spec, 2, replica=True, family="mysql", replication="position", skip_errors="1062")
    assert "gtid_mode=OFF" in mysql and "relay_log_recovery=ON" in mysql and "replica_skip_errors=1062" in mysql
    assert "log_error_verbosity=3" in mysql
    mariadb = server_config(spec, 2, replica=True, family="mariadb", skip_errors="1062")
    assert "slave_skip_errors=1062" in mariadb and "relay_log_recovery" not in mariadb
    assert "gtid_mode=ON" in server_config(spec, 1, replica=False, family="mysql")


def test_gtid_sets_subtract_and_contain_as_mysql_does():
    from chaos.checkers.replication import format_gtid_set, gtid_set_minus, mariadb_errant, parse_gtid_set

    a, b = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4f22fa47-71ca-11e1-9e33-c80aa9429562"
    assert parse_gtid_set(f"{a}:1-5:6-8:10,\n{b}:3") == {a: [(1, 8), (10, 10)], b: [(3, 3)]}
    # the old source's errant transactions: what it committed that the new source never got
    assert gtid_set_minus(f"{a}:1-100,{b}:1-3", f"{a}:1-97") == {a: [(98, 100)], b: [(1, 3)]}
    assert gtid_set_minus(f"{a}:1-10", f"{a}:1-4:6-8") == {a: [(5, 5), (9, 10)]}
    assert gtid_set_minus(f"{a}:1-10", f"{a}:1-10,{b}:1-2") == {}
    assert format_gtid_set({a: [(5, 5), (9, 10)]}) == f"{a}:5:9-10"
    # containment, gaps included: reaching 1-10 is not having 1-4 and 6-10
    assert gtid_reached(f"{a}:1-4:6-10", f"{a}:1-10") is False and gtid_reached(f"{a}:1-12", f"{a}:1-10")
    assert mariadb_errant("0-1-120,1-1-7", "0-1-100,0-2-100,1-1-7") == [(0, 1, 101, 120)]



def test_a_mariadb_replica_logs_in_without_tls_only_to_a_source_that_serves_none():
    """MariaDB 11.4+ replicas require TLS by default; a 10.11 source has none (measured: 'SSL is
    required, but the server does not support it' from an 11.8 replica of a 10.11 source)."""
    assert "MASTER_SSL" not in MARIADB.change_source("h", 1, "u", "p")[0]
    assert "MASTER_SSL=0" in MARIADB.change_source("h", 1, "u", "p", tls=False)[0]
    assert "SSL" not in MYSQL.change_source("h", 1, "u", "p", tls=False)[0]
