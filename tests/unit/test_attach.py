"""The pure parts of --attach: /proc text, cgroup lines, container commands, config files, URLs."""

import pytest

from chaos.backends.attached import (
    command_port,
    container_id_from_cgroup,
    listening_inodes,
    proc_ids,
    published_ports,
)
from chaos.errors import ChaosError
from chaos.topology.attach import config_to_file
from chaos.topology.attach_input import parse_url, require_loopback
from chaos.topology.attach_mysql import _same_server, run_database

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1E1D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41001 1 0000 100 0 0 10 0
   1: 0B00007F:1E1D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41002 1 0000 100 0 0 10 0
   2: 00000000:1E1E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41003 1 0000 100 0 0 10 0
   3: 0100007F:1E1D 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 41004 1 0000 20 4 30 10 -1
"""
V6_ROW = ("   {n}: {addr}:{port} 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
          "00000000     0        0 {inode} 1 0000 100 0 0 10 0")
PROC_NET_TCP6 = "\n".join([
    "  sl  local_address                         remote_address                        st tx_queue rx_queue ...",
    V6_ROW.format(n=0, addr="0" * 32, port="1E1D", inode=42001),  # [::]:7709
    V6_ROW.format(n=1, addr="0" * 24 + "01000000", port="1E1F", inode=42002),  # [::1]:7711
])


def test_listening_inodes_by_port_and_host():
    # 0x1E1D = 7709: listening on 127.0.0.1 and on 127.0.0.11; the established connection is not a listener
    assert listening_inodes(PROC_NET_TCP, 7709, "127.0.0.1") == [41001]
    assert listening_inodes(PROC_NET_TCP, 7709, "127.0.0.11") == [41002]
    assert listening_inodes(PROC_NET_TCP, 7709) == [41001, 41002]
    # 0.0.0.0:7710 serves every address
    assert listening_inodes(PROC_NET_TCP, 7710, "127.0.0.5") == [41003]
    assert listening_inodes(PROC_NET_TCP, 7799, "127.0.0.1") == []
    # IPv6: :: serves every address, ::1 only itself
    assert listening_inodes(PROC_NET_TCP6, 7709, "127.0.0.1") == [42001]
    assert listening_inodes(PROC_NET_TCP6, 7711, "::1") == [42002]
    assert listening_inodes(PROC_NET_TCP6, 7711, "127.0.0.1") == []


def test_container_id_from_cgroup_lines():
    cid = "4f" * 32
    assert container_id_from_cgroup(f"0::/system.slice/docker-{cid}.scope\n") == cid  # v2, systemd driver
    assert container_id_from_cgroup(f"0::/docker/{cid}\n") == cid  # v2, cgroupfs driver
    assert container_id_from_cgroup(f"12:memory:/docker/{cid}\n11:cpu:/docker/{cid}\n") == cid  # v1
    assert container_id_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n") is None


def test_command_port_forms():
    assert command_port(["redis-server", "--cluster-enabled", "yes", "--port", "7003"]) == 7003
    assert command_port(["redis-server", "--port=7004"]) == 7004
    assert command_port(["mariadbd", "-P", "3307"]) == 3307
    assert command_port(["redis-server", "/etc/redis.conf"]) is None
    assert command_port(["redis-server", "--port"]) is None


def test_published_ports_of_a_bridged_container():
    ports = {"6379/tcp": [{"HostIp": "0.0.0.0", "HostPort": "7001"}, {"HostIp": "::", "HostPort": "7001"}],
             "16379/tcp": [{"HostIp": "0.0.0.0", "HostPort": "17001"}], "80/tcp": None}
    assert published_ports(ports) == {7001: 6379, 17001: 16379}
    assert published_ports(None) == {}


def test_proc_ids_reads_real_uid_and_gid():
    status = "Name:\tredis-server\nUid:\t110\t110\t110\t110\nGid:\t118\t118\t118\t118\n"
    assert proc_ids(status) == (110, 118)


def test_config_to_file_quotes_single_values_and_keeps_multi_word_ones():
    text = config_to_file({"port": "7001", "save": "3600 1 300 100", "proc-title-template": "{title} {listen-addr}",
                           "replicaof": "", "requirepass": 'a "b" \\c', "bind": "127.0.0.1 -::1"})
    lines = text.splitlines()
    assert 'port "7001"' in lines and "save 3600 1 300 100" in lines and "bind 127.0.0.1 -::1" in lines
    assert 'proc-title-template "{title} {listen-addr}"' in lines
    assert 'requirepass "a \\"b\\" \\\\c"' in lines
    assert not any(line.startswith("replicaof") for line in lines)  # empty = unset: the default applies
    assert config_to_file({"save": ""}).splitlines() == ['save ""']  # an empty save means "no snapshots"


def test_parse_url_and_refusals():
    assert parse_url("redis://127.0.0.1:7001", "redis", 6379) == (None, "127.0.0.1", 7001)
    assert parse_url("127.0.0.1", "redis", 6379) == (None, "127.0.0.1", 6379)
    assert parse_url("mysql://app@localhost:3307", "mysql", 3306) == ("app", "localhost", 3307)
    with pytest.raises(ChaosError, match="must not carry a password"):
        parse_url("mysql://app:secret@127.0.0.1:3307", "mysql", 3306)
    with pytest.raises(ChaosError, match="not a redis:// address"):
        parse_url("http://127.0.0.1:7001", "redis", 6379)
    assert require_loopback("127.0.0.1", False) == "127.0.0.1"
    with pytest.raises(ChaosError, match="not a loopback address"):
        require_loopback("192.0.2.10", False)
    assert require_loopback("192.0.2.10", True) == "192.0.2.10"


def test_mysql_attach_helpers():
    assert run_database("replica-stop-20261129T221500Z") == "chaos_replica_stop_20261129T221500Z"
    assert len(run_database("x" * 100)) == 64
    assert _same_server("127.0.0.1", 3306, "localhost", 3306)
    assert _same_server("::1", 3307, "127.0.0.1", 3307)
    assert not _same_server("127.0.0.21", 3307, "127.0.0.1", 3307)  # another loopback address: another server
    assert not _same_server("127.0.0.1", 3306, "127.0.0.1", 3307)
    assert not _same_server("db.example", 3306, "127.0.0.1", 3306)


def test_view_disagreements_names_a_node_whose_own_role_differs_from_the_seeds_view():
    from chaos.topology.attach import view_disagreements

    nodes = [
        {"address": "127.0.0.1:7001", "role": "master", "master_id": None, "own": ("master", None)},
        {"address": "127.0.0.1:7005", "role": "master", "master_id": None, "own": ("replica", "abcdef123456")},
        {"address": "127.0.0.1:7006", "role": "replica", "master_id": "aaaa", "own": ("replica", "bbbbbbbbbb")},
        {"address": "127.0.0.1:7004", "role": "replica", "master_id": "cccc", "own": ("replica", "cccc")},
        {"address": "127.0.0.1:7007", "role": "replica", "master_id": "cccc"},  # its own view unknown
    ]
    found = view_disagreements(nodes)
    assert found == ["127.0.0.1:7005 says it is a replica of abcdef12, the seed node sees a master",
                     "127.0.0.1:7006 says it is a replica of bbbbbbbb, the seed node sees a replica of aaaa"]
    assert view_disagreements(nodes[:1] + nodes[3:]) == []
