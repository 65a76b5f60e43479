"""Do replicas hold the same data as their masters? Every master/replica pair compared at once:
DEBUG DIGEST of the whole dataset where the server has it, else the keys' values digested in
batches (the run's own keys only, on a cluster the harness did not start)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from chaos.backends.base import NodeSpec, NodeStatus
from chaos.topology.redis_cluster import RedisCluster


def _scan_keys(client: redis.Redis, limit: int, match: str | None = None) -> set[str]:
    keys: set[str] = set()
    for key in client.scan_iter(match=match, count=1000):
        keys.add(key)
        if len(keys) > limit:
            break
    return keys


def _like(client: redis.Redis, **changed: Any) -> redis.Redis:
    """A new client with ``client``'s connection settings, some of them ``changed``
    (``decode_responses=False`` for DUMP, a longer ``socket_timeout`` for one long command)."""
    kw = client.connection_pool.connection_kwargs
    settings = {"host": kw["host"], "port": kw["port"], "password": kw.get("password"),
                "decode_responses": kw.get("decode_responses", False), "socket_timeout": kw.get("socket_timeout"),
                "socket_connect_timeout": kw.get("socket_connect_timeout")}
    return redis.Redis(**{**settings, **changed})


# DEBUG DIGEST walks the whole dataset in one command: 5.6 s for 1M keys and 21.5 s for 4M here
# (2-core machine, busy), so its reply outlasts a fixed socket timeout once a long run has
# written millions of keys; wait 20 µs a key, 10 s at least
DIGEST_SECONDS_PER_KEY = 20e-6


def digest_timeout(keys: int) -> float:
    return 10.0 + keys * DIGEST_SECONDS_PER_KEY


def _value_digests(client: redis.Redis, keys: list[str], debug: bool) -> list[Any]:
    """Per key: ``DEBUG DIGEST-VALUE`` where DEBUG is enabled, else its ``DUMP`` (same server
    version on both sides of a pair, so equal values serialize equally)."""
    out: list[Any] = []
    conn = client if debug else _like(client, decode_responses=False)
    for i in range(0, len(keys), 500):
        pipe = conn.pipeline(transaction=False)
        pipe.execute_command("READONLY")  # one connection per pipeline: a replica answers its keys
        for key in keys[i : i + 500]:
            if debug:
                pipe.execute_command("DEBUG", "DIGEST-VALUE", key)
            else:
                pipe.execute_command("DUMP", key)
        out += [r[0] if isinstance(r, list) else r for r in pipe.execute()[1:]]
    return out


def _dataset_digest(client: redis.Redis, timeout: float) -> str | None:
    """``DEBUG DIGEST`` of the whole dataset, waiting up to ``timeout`` for it; None where DEBUG is
    disabled (Redis 7's default ``enable-debug-command no`` on clusters the harness did not
    start) or renamed."""
    patient = _like(client, socket_timeout=timeout)
    try:
        return patient.execute_command("DEBUG", "DIGEST")
    except redis.ResponseError:
        return None
    finally:
        patient.close()


def compare_pair(master: redis.Redis, replica: redis.Redis, timeout: float = 15.0,
                 key_limit: int = 2_000_000, match: str | None = None) -> dict[str, Any]:
    """Wait until the replica has the master's replication offset, then compare the datasets:
    ``DEBUG DIGEST``, and on a mismatch (or where DEBUG is disabled, or only the keys matching
    ``match`` are the harness's to judge) key by key."""
    replica.execute_command("READONLY")
    deadline = time.monotonic() + timeout
    while True:
        m_off = int(master.info("replication").get("master_repl_offset", 0))
        r_off = int(replica.info("replication").get("slave_repl_offset", -1))
        if r_off >= m_off or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    result: dict[str, Any] = {
        "master_offset": m_off, "replica_offset": r_off, "caught_up": r_off >= m_off,
        "master_keys": master.dbsize(), "replica_keys": replica.dbsize(),
    }
    patience = digest_timeout(max(result["master_keys"], result["replica_keys"]))
    m_digest = _dataset_digest(master, patience) if match is None else None
    r_digest = _dataset_digest(replica, patience) if m_digest is not None else None
    debug = m_digest is not None and r_digest is not None
    result["method"] = "digest" if debug else ("keys matching " + match if match else "keys (DUMP)")
    if debug and m_digest == r_digest:
        result.update(digest_match=True, mismatches=0, missing_on_replica=0, extra_on_replica=0,
                      value_mismatches=0, sample=[])
        return result
    m_keys, r_keys = _scan_keys(master, key_limit, match), _scan_keys(replica, key_limit, match)
    missing, extra = sorted(m_keys - r_keys), sorted(r_keys - m_keys)
    common = sorted(m_keys & r_keys)
    differ = [k for k, a, b in zip(common, _value_digests(master, common, debug),
                                    _value_digests(replica, common, debug)) if a != b]
    mismatches = len(missing) + len(extra) + len(differ)
    if match is not None:
        result.update(master_keys=len(m_keys), replica_keys=len(r_keys))
    result.update(digest_match=(m_digest == r_digest) if debug else mismatches == 0,
                  missing_on_replica=len(missing), extra_on_replica=len(extra),
                  value_mismatches=len(differ), mismatches=mismatches, sample=(missing + extra + differ)[:20])
    return result


def compare_replicas(cluster: RedisCluster, timeout: float = 15.0, match: str | None = None) -> dict[str, Any]:
    """Every master against every replica that follows it, as the nodes report now (only the
    keys matching ``match`` when given: a cluster the harness did not start holds other data)."""
    rows = [r for r in cluster.status() if r["process"] in (NodeStatus.RUNNING, NodeStatus.UNKNOWN) and r["role"]]
    by_name = {r["name"]: r for r in rows}
    followed = [(cluster.spec(r["follows"]), cluster.spec(r["name"])) for r in rows
                if r["role"] == "replica" and r["follows"] in by_name]

    def compare(specs: tuple[NodeSpec, NodeSpec]) -> dict[str, Any]:
        master, replica = specs
        pair = compare_pair(cluster.client(master, 5.0), cluster.client(replica, 5.0), timeout, match=match)
        return {"master": master.name, "master_address": master.address, "replica": replica.name,
                "replica_address": replica.address, **pair}

    # every pair at once: each digest keeps one server busy, and the servers share the cores. On
    # Ctrl-C the harness does not wait for them: its cleanup stops the nodes, which ends them
    pool = ThreadPoolExecutor(max_workers=max(1, len(followed)), thread_name_prefix="compare")
    try:
        pairs = list(pool.map(compare, followed))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return {
        "pairs": pairs,
        "keys_compared": sum(p["master_keys"] for p in pairs),
        "mismatches": sum(p["mismatches"] for p in pairs),
        "consistent": all(p["mismatches"] == 0 and p["caught_up"] for p in pairs),
    }
