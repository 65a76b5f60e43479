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
