"""How long `chaos up redis-cluster` and `chaos up mysql-replication` take on the process backend.

    .venv/bin/python bench/cluster_up.py [--runs 3]

Targets: under 3 s for the Redis Cluster (3 masters + 3 replicas, healthy: every slot covered,
every replica linked). Prints each time and the ratio of the mean to the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaos.state import StateDir  # noqa: E402
from chaos.topology.mysql_replication import MysqlReplication, MysqlReplicationConfig  # noqa: E402
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig  # noqa: E402


def measure(make, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
            topo = make(StateDir(Path(tmp) / "state"))
            started = time.monotonic()
            topo.up()
            times.append(time.monotonic() - started)
            topo.down()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    redis = measure(lambda st: RedisCluster(st, RedisClusterConfig(base_port=7701)), args.runs)
    mean = statistics.mean(redis)
    print(f"chaos up redis-cluster (3+3): {', '.join(f'{t:.2f}' for t in redis)} s; mean {mean:.2f} s, "
          f"ratio to the 3 s target {mean / 3:.2f}")
    mysql = measure(lambda st: MysqlReplication(st, MysqlReplicationConfig(base_port=3407)), args.runs)
    print(f"chaos up mysql-replication: {', '.join(f'{t:.2f}' for t in mysql)} s; "
          f"mean {statistics.mean(mysql):.2f} s")


if __name__ == "__main__":
    main()
