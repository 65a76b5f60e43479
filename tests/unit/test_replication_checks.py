from chaos.checkers.replication import gtid_reached, lag_summary, parse_gtid


def test_parse_gtid_mariadb_and_mysql():
    assert parse_gtid("0-1-1234,1-2-5") == {0: 1234, 1: 5}
    assert parse_gtid("") == {} and parse_gtid(None) == {}
    assert parse_gtid("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-77") == {"3E11FA47-71CA-11E1-9E33-C80AA9429562": 77}


def test_gtid_reached_domain_by_domain():
    assert gtid_reached("0-1-100", "0-1-100")
    assert gtid_reached("0-1-101,1-1-3", "0-1-100")
    assert not gtid_reached("0-1-99", "0-1-100")
    assert not gtid_reached("0-1-100", "0-1-100,1-1-1")
    assert gtid_reached("0-1-5", "")


def s(t, lag, sql="Yes", gtid="0-1-10", up=True, sbm=0):
    return {"source": "probe", "time": t, "up": up, "heartbeat_lag": lag, "sql_thread": sql, "gtid": gtid,
            "seconds_behind_master": sbm}


def test_lag_summary_catchup_needs_low_lag_and_the_gtid():
    samples = [
        s(1.0, 0.05), s(2.0, 0.08),                         # warm-up
        {"source": "probe", "time": 3.0, "up": False},      # replica down from 2.5 to 5.0
        s(5.1, 2.6, sbm=None), s(6.0, 1.5, sbm=3),
        s(7.0, 0.4, gtid="0-1-40"),                          # lag low, but not yet at the restart's GTID
        s(8.0, 0.3, gtid="0-1-50"),
        {"source": "log", "time": 8.5},
    ]
    result = lag_summary(samples, fault_t=2.5, restart_t=5.0, target_gtid="0-1-50")
    assert result["max_lag_seconds"] == 2.6
    assert result["max_lag_before_fault_seconds"] == 0.08
    assert result["max_seconds_behind_master"] == 3
    assert result["caught_up_at"] == 8.0 and result["catchup_seconds"] == 3.0


def test_lag_summary_never_caught_up():
    result = lag_summary([s(6.0, 5.0)], fault_t=1.0, restart_t=5.0, target_gtid=None)
    assert result["catchup_seconds"] is None and result["max_lag_seconds"] == 5.0
