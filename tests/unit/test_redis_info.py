from chaos.topology.redis_info import (
    format_slots,
    parse_cluster_nodes,
    parse_info,
    slot_count,
    split_slots,
)

NODES = """\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.14:7004@17004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.12:7002@17002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.13:7003@17003 master - 0 1426238318243 3 connected 10923-16383
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.15:7005@17005 slave,fail 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 disconnected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.11:7001@17001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
"""


def test_parse_cluster_nodes_roles_slots_and_flags():
    nodes = {n.address: n for n in parse_cluster_nodes(NODES)}
    assert len(nodes) == 5
    me = nodes["127.0.0.11:7001"]
    assert me.is_myself and me.is_master and me.slots == [(0, 5460)]  # migration marker skipped
    replica = nodes["127.0.0.14:7004"]
    assert not replica.is_master and replica.master_id == me.node_id
    assert nodes["127.0.0.15:7005"].failing and nodes["127.0.0.15:7005"].link_state == "disconnected"
    assert nodes["127.0.0.13:7003"].config_epoch == 3


def test_parse_cluster_nodes_single_slot_and_hostname():
    line = "abc 127.0.0.11:7001@17001,host1 myself,master - 0 0 7 connected 5 7-9\n"
    (node,) = parse_cluster_nodes(line)
    assert node.address == "127.0.0.11:7001"
    assert node.slots == [(5, 5), (7, 9)]
    assert format_slots(node.slots) == "5,7-9"


def test_parse_info_skips_sections_and_blanks():
    text = "# Cluster\r\ncluster_state:ok\r\ncluster_slots_ok:16384\r\n\r\nweird\r\nmaster_host:127.0.0.1\r\n"
    assert parse_info(text) == {
        "cluster_state": "ok", "cluster_slots_ok": "16384", "master_host": "127.0.0.1",
    }


def test_split_slots_covers_everything_once():
    for masters in (1, 3, 5, 7, 100):
        ranges = split_slots(masters)
        assert len(ranges) == masters
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        assert slot_count(ranges) == 16384
        assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(masters - 1))
    assert split_slots(3) == [(0, 5460), (5461, 10922), (10923, 16383)]


def test_open_slots_are_parsed():
    from chaos.topology.redis_info import parse_cluster_nodes

    text = ("07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.11:7001@17001 myself,master - 0 0 1 connected "
            "0-5460 [5461->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca] [93-<-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]\n")
    [node] = parse_cluster_nodes(text)
    assert node.slots == [(0, 5460)]
    assert node.migrating == {5461: "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"}
    assert node.importing == {93: "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"}
