from chaos.checkers.replication import catchup_blocked, gtid_reached, lag_summary, parse_gtid, transactions


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


def test_transactions_counts_mariadb_domains_and_mysql_sets():
    assert transactions("0-1-100,1-2-5") == 105
    assert transactions("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77:80-82") == 80
    assert transactions("binlog.000002@1381") is None and transactions("") is None


def test_a_replica_slower_than_its_source_is_named_with_both_rates():
    # lag rises 0.1 s per s for 100 s while the replica applies 450 transactions/s: the source wrote 500/s
    samples = [s(10.0 + i, 2.0 + 0.1 * i, gtid=f"0-1-{1000 + 450 * i}") for i in range(101)]
    samples.append(s(115.0, 0.5, gtid="0-1-99000"))  # after the wait (load stopped): left out
    why = catchup_blocked(samples, restart_t=10.0, target="0-1-900", until=110.5)
    assert "2.0 → 12.0 s over 100 s (+0.100 s per s)" in why
    assert "applied 450 transactions/s and the source wrote about 500/s" in why and "cannot catch up" in why
    assert lag_summary(samples, 5.0, 10.0, "0-1-900", wait_end=110.5)["catchup_blocked"] == why


def test_other_reasons_a_replica_did_not_catch_up():
    assert "never answered" in catchup_blocked([{"source": "probe", "time": 6.0, "up": False}], 5.0, "0-1-9")
    assert "SQL thread is No (error 1062)" in catchup_blocked([{**s(6.0, None, sql="No"), "last_errno": 1062}], 5.0,
                                                              "0-1-9")
    assert "never executed what the source had at the restart (0-1-90)" in catchup_blocked([s(6.0, 3.0)], 5.0, "0-1-90")
    falling = catchup_blocked([s(6.0, 3.0), s(8.0, 2.0)], 5.0, "0-1-9")  # lag falling: no verdict on the rates
    assert "3.0 → 2.0 s" in falling and "cannot catch up" not in falling
    assert lag_summary([s(6.0, 0.2)], 1.0, 5.0, None)["catchup_blocked"] is None  # caught up
