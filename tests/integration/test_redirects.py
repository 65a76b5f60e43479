"""The lean cluster client follows MOVED and ASK within one attempt, and fails on TRYAGAIN, against
a real slot migration on real redis-server processes."""

import pytest
import redis
from click.testing import CliRunner
from redis.crc import key_slot

from chaos.cli import cli
from chaos.clients.resp import ClusterClient, Redirects, ReplyError
from chaos.topology.redis_cluster import RedisCluster
from tests.conftest import require


@pytest.fixture
def cluster(state):
    require("redis-server")
    up = CliRunner().invoke(cli, ["--state-dir", str(state.path), "up", "redis-cluster", "--base-port", "7651",
                                  "--replicas-per-master", "0"])
    assert up.exit_code == 0, up.output
    yield RedisCluster.load(state)
    CliRunner().invoke(cli, ["--state-dir", str(state.path), "down"])


def node(spec):
    return redis.Redis(host=spec.host, port=spec.port, decode_responses=True)


def test_moved_is_followed_and_updates_the_slot_map(cluster):
    client = ClusterClient([cluster.specs[0].address])
    assert client.refresh()
    slot = key_slot(b"moved-key")
    owner = client.slot_owner[slot]
    client.slot_owner[slot] = next(s.address for s in cluster.specs if s.address != owner)  # a stale map
    Redirects.take()
    answered, reply = client.call_slot(slot, "SET", "moved-key", "v")
    assert answered == owner and reply == b"OK" and client.slot_owner[slot] == owner
    assert Redirects.take() == {"moved": 1, "ask": 0, "tryagain": 0}
    client.close()


def test_ask_is_followed_during_a_migration_and_tryagain_fails(cluster):
    client = ClusterClient([cluster.specs[0].address])
    client.refresh()
    key, other = "{mig}a", "{mig}b"
    slot = key_slot(key.encode())
    source_spec = next(s for s in cluster.specs if s.address == client.slot_owner[slot])
    target_spec = next(s for s in cluster.specs if s is not source_spec)
    source, target = node(source_spec), node(target_spec)
    source.set(key, "1")
    source.set(other, "2")
    source_id, target_id = source.execute_command("CLUSTER", "MYID"), target.execute_command("CLUSTER", "MYID")
    target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    source.migrate(target_spec.host, target_spec.port, [key], 0, 5000)  # one key moved, the other not yet
    Redirects.take()
    answered, reply = client.call_slot(slot, "GET", key)  # ASK → ASKING + GET on the importing node
    assert answered == target_spec.address and reply == b"1"
    assert client.slot_owner[slot] == source_spec.address  # an ASK does not change the slot map
    answered, reply = client.call_slot(slot, "GET", other)  # not moved yet: the source answers
    assert answered == source_spec.address and reply == b"2"
    with pytest.raises(ReplyError, match="TRYAGAIN"):  # a multi-key command over a half-moved slot
        client.call_slot(slot, "MGET", key, other)
    assert Redirects.take() == {"moved": 0, "ask": 1, "tryagain": 1}
    source.migrate(target_spec.host, target_spec.port, [other], 0, 5000)
    for r in (target, source):
        r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    answered, reply = client.call_slot(slot, "MGET", key, other)  # MOVED now: map updated, one attempt
    assert answered == target_spec.address and reply == [b"1", b"2"]
    assert client.slot_owner[slot] == target_spec.address and Redirects.take()["moved"] == 1
    client.close()


def test_client_pause_fault_holds_writes_until_healed(cluster):
    """The README's "Add a fault" example, on a real node."""
    from chaos.clients.resp import Connection, Indeterminate
    from chaos.faults.client_pause import ClientPause

    spec = cluster.specs[2]  # redis-3 owns slots 10923-16383
    fault = ClientPause(spec, seconds=30)
    fault.inject()
    try:
        conn = Connection(spec.host, spec.port, timeout=0.5)
        with pytest.raises(Indeterminate, match="timeout"):
            conn.call("SET", "{a}k", "1")  # slot 15495 → redis-3; held by the server: the client cannot know
        conn.close()
        assert Connection(spec.host, spec.port).call("PING") == b"PONG"  # reads and pings go on
    finally:
        fault.heal()
    assert Connection(spec.host, spec.port).call("CLIENT", "INFO") is not None
