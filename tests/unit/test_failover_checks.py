from chaos.checkers.failover import cluster_down, cluster_ok_again, first_promotion, first_rejoin
from chaos.observe.redis_log import parse_log_time, parse_redis_log
from chaos.observe.redis_probe import reduce_sample


def s(node, time, **fields):
    return {"source": "probe", "node": node, "time": time, "up": True, **fields}


TIMELINE = [
    s("r1", 0.0, cluster_state="ok", role="master", owners={"0": "A"}),
    s("r2", 0.0, cluster_state="ok", role="replica", master="A", link="up", owners={"0": "A"}),
    s("r3", 0.0, cluster_state="ok", role="master"),
    {"source": "probe", "node": "r1", "time": 1.0, "up": False, "error": "refused"},
    s("r2", 1.0, cluster_state="ok", role="replica", master="A", link="down", owners={"0": "A"}),
    s("r3", 2.0, cluster_state="fail", role="master"),
    s("r2", 2.1, cluster_state="fail", role="replica", master="A", link="down", owners={"0": None}),
    s("r2", 3.5, cluster_state="ok", role="master", owners={"0": "B"}),
    s("r3", 3.6, cluster_state="ok", role="master"),
    {"source": "log", "node": "r2", "time": 3.4, "event": "election_won"},
    s("r1", 5.0, cluster_state="ok", role="replica", master="B", link="down"),
    s("r1", 6.0, cluster_state="ok", role="replica", master="B", link="up"),
]


def test_cluster_down_is_the_union_over_nodes():
    result = cluster_down(TIMELINE)
    assert result["intervals"] == [[2.0, 3.6]]
    assert result["cluster_down_seconds"] == 1.6


def test_promotion_rejoin_and_ok_again():
    assert first_promotion(TIMELINE, {"r2": "B"}, 0, after=0.5) == {"node": "r2", "address": "B", "time": 3.5}
    assert first_promotion(TIMELINE, {"r3": "C"}, 0, after=0.5) is None
    assert first_rejoin(TIMELINE, "r1", "B", after=4.0) == 6.0
    assert first_rejoin(TIMELINE, "r1", "A", after=4.0) is None
    assert cluster_ok_again(TIMELINE, after=1.5, skip={"r1"}) == 3.6


def test_the_timeline_streamed_from_disk_gives_the_same_answers(tmp_path):
    import json

    from chaos.engine import read_timeline

    path = tmp_path / "timeline.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in TIMELINE) + '{"source": "probe", "node": "r')  # torn
    streamed = read_timeline(path)
    assert list(streamed) == TIMELINE and list(streamed) == TIMELINE  # re-read on every pass
    assert cluster_down(streamed) == cluster_down(TIMELINE)
    assert first_promotion(streamed, {"r2": "B"}, 0, after=0.5) == first_promotion(TIMELINE, {"r2": "B"}, 0, after=0.5)
    assert first_rejoin(streamed, "r1", "B", after=4.0) == 6.0


def test_parse_redis_log_events():
    lines = [
        "4100:S 29 Nov 2026 14:52:55.123 * Marking node 9f3e8a1b as failing (quorum reached).",
        "4100:S 29 Nov 2026 14:52:55.124 # Start of election delayed for 612 milliseconds (rank #0, offset 1234).",
        "4100:S 29 Nov 2026 14:52:55.800 # Failover election won: I'm the new master.",
        "4100:M 29 Nov 2026 14:52:55.801 # Cluster state changed: ok",
        "4100:M 29 Nov 2026 14:52:56.000 * Background saving started",
        "garbage line",
        "4099:M 29 Nov 2026 14:53:00.500 # Configuration change detected. Reconfiguring myself as a replica of abcdef",
    ]
    events = parse_redis_log(lines, "redis-5")
    assert [e["event"] for e in events] == ["marked_failing", "election_delayed", "election_won",
                                            "cluster_state", "reconfigured_as_replica"]
    assert events[1]["detail"] == "612" and events[3]["detail"] == "ok"
    assert round(events[2]["wall"] - events[0]["wall"], 3) == 0.677
    assert events[2]["wall"] == parse_log_time("29 Nov 2026 14:52:55.800")


def test_parse_valkey_log_events():
    """Valkey's words ("primary") for the same events, from a real valkey-server 8 log."""
    lines = [
        "1:S 18 Oct 2024 14:40:26.324 * Connection with primary lost.",
        "1:S 18 Oct 2024 14:40:26.324 * PRIMARY <-> REPLICA sync started",
        "1:S 18 Oct 2024 14:40:43.987 # Cluster state changed: fail",
        "1:S 18 Oct 2024 14:40:44.026 * Start of election delayed for 659 milliseconds (rank #0, offset 3234599075).",
        "1:S 18 Oct 2024 14:40:44.768 * Failover election won: I'm the new primary.",
        "1:M 18 Oct 2024 14:40:44.768 * Discarding previously cached primary state.",
        "1:M 18 Oct 2024 14:40:44.769 * Cluster state changed: ok",
        "1:S 18 Oct 2024 14:41:02.101 * PRIMARY <-> REPLICA sync: Finished with success",
    ]
    events = parse_redis_log(lines, "valkey-5")
    assert [e["event"] for e in events] == ["master_link_lost", "cluster_state", "election_delayed", "election_won",
                                            "cluster_state", "sync_finished"]
    assert events[2]["detail"] == "659"
    assert round(events[3]["wall"] - events[1]["wall"], 3) == 0.781


def test_reduce_sample_of_a_promoted_replica():
    info = "cluster_state:ok\r\ncluster_current_epoch:7\r\ncluster_my_epoch:7\r\n"
    repl = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:4242\r\n"
    nodes = ("aaa 127.0.0.12:7002@17002 master,fail - 0 0 2 disconnected\n"
             "bbb 127.0.0.15:7005@17005 myself,master - 0 0 7 connected 5461-10922\n"
             "ccc 127.0.0.11:7001@17001 master - 0 0 1 connected 0-5460\n")
    sample = reduce_sample(info, repl, nodes, watch_slots=[5461, 0, 12000])
    assert sample["role"] == "master" and sample["master"] is None and sample["offset"] == 4242
    assert sample["owners"] == {"5461": "127.0.0.15:7005", "0": "127.0.0.11:7001", "12000": None}
    assert sample["failing"] == ["127.0.0.12:7002"] and sample["current_epoch"] == 7
