"""How long `chaos up redis-cluster` and `chaos up mysql-replication` take on the process backend.

    .venv/bin/python bench/cluster_up.py [--runs 3]

Target: 1.5 s for the Redis Cluster (3 masters + 3 replicas, healthy: every slot covered,
every replica linked). Prints each time, the ratio of the mean to the target, and where the time
went by the servers' own logs: from the first node ready to the last "Cluster state changed: ok".
A Redis master keeps its cluster state at fail until 2 s after its cluster state was first
computed at start-up (CLUSTER_WRITABLE_DELAY in cluster.c), so no harness can make a fresh
cluster writable sooner than about 2 s after it starts the servers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaos.observe.redis_log import parse_redis_log  # noqa: E402
from chaos.state import StateDir  # noqa: E402
from chaos.topology.mysql_replication import MysqlReplication, MysqlReplicationConfig  # noqa: E402
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig  # noqa: E402


def measure(make, runs: int, logs: list | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
            topo = make(StateDir(Path(tmp) / "state"))
            started = time.monotonic()
            topo.up()
            times.append(time.monotonic() - started)
            if logs is not None:
                logs.append(server_view(topo))
            topo.down()
    return times


def server_view(cluster: RedisCluster) -> tuple[float, float]:
    """(first node ready → last master's cluster state ok, the shortest ready → ok of one master)
    in seconds, from the nodes' logs."""
    ready, ok, gaps = [], [], []
    for spec in cluster.specs:
        events = parse_redis_log(spec.log_path.read_text().splitlines(), spec.name)
        r = next((e["wall"] for e in events if e["event"] == "ready"), None)
        o = next((e["wall"] for e in events if e["event"] == "cluster_state" and e["detail"] == "ok"), None)
        if r is not None:
            ready.append(r)
        if o is not None:
            ok.append(o)
        if r is not None and o is not None:
            gaps.append(o - r)
    return (max(ok) - min(ready), min(gaps)) if ready and ok and gaps else (float("nan"), float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logs: list[tuple[float, float]] = []
    redis = measure(lambda st: RedisCluster(st, RedisClusterConfig(base_port=7701)), args.runs, logs)
    mean = statistics.mean(redis)
    print(f"chaos up redis-cluster (3+3): {', '.join(f'{t:.2f}' for t in redis)} s; mean {mean:.2f} s, "
          f"ratio to the 1.5 s target {mean / 1.5:.2f}")
    print("  by the servers' logs, first node ready → every node's cluster state ok: "
          + ", ".join(f"{span:.2f}" for span, _ in logs) + " s; the fastest node's own ready → ok: "
          + ", ".join(f"{gap:.2f}" for _, gap in logs) + " s (a master stays at fail until 2 s after its cluster "
          "init, which precedes ready)")
    floor = statistics.mean(span for span, _ in logs)
    print(f"  the harness's own share: {mean - floor:.2f} s above what the servers took")
    mysql = measure(lambda st: MysqlReplication(st, MysqlReplicationConfig(base_port=3407)), args.runs)
    print(f"chaos up mysql-replication: {', '.join(f'{t:.2f}' for t in mysql)} s; "
          f"mean {statistics.mean(mysql):.2f} s")


if __name__ == "__main__":
    main()
