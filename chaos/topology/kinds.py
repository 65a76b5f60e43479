"""Topology kinds by the name state.json records them under: the class of what the harness
started, and of an attachment to servers it did not start (``--attach``, ``--source``). The
one place that knows both; the base classes name neither."""

from __future__ import annotations

from typing import Any

from chaos.errors import NotUp
from chaos.state import StateDir
from chaos.topology.attach import AttachedRedisCluster
from chaos.topology.attach_mysql import AttachedMysqlReplication
from chaos.topology.mysql_replication import MysqlReplication
from chaos.topology.redis_cluster import RedisCluster

KINDS: dict[str, tuple[Any, Any]] = {  # name → (started, attached)
    "redis-cluster": (RedisCluster, AttachedRedisCluster),
    "mysql-replication": (MysqlReplication, AttachedMysqlReplication),
}


def registry() -> dict[str, Any]:
    """Topology name → class of a started topology (with status, down and STATUS_COLUMNS)."""
    return {name: started for name, (started, _) in KINDS.items()}


def load_topology(state: StateDir, name: str, backend: Any = None) -> Any:
    """The topology ``state`` records under ``name``: the one the harness started, or an
    attachment; raises :class:`NotUp` if there is none."""
    started, attached = KINDS[name]
    record = state.topology(name)
    if record is None:
        raise NotUp(f"no {name} is up in {state.path}; start one with `chaos up {name}`")
    if record.get("attached"):
        return attached.from_record(state, record)
    return started.load(state, backend)
