"""What the nodes are: a Redis Cluster, a MySQL/MariaDB source→replica pair."""

from __future__ import annotations

from typing import Any


def registry() -> dict[str, Any]:
    """Topology name → class (with attach, status, down and STATUS_COLUMNS)."""
    from chaos.topology.mysql_replication import MysqlReplication
    from chaos.topology.redis_cluster import RedisCluster

    return {"redis-cluster": RedisCluster, "mysql-replication": MysqlReplication}
