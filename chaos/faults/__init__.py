"""Faults as objects (Jepsen's nemesis protocol): each has ``inject()`` and an idempotent
``heal()``, a ``name`` (the nemesis ``f`` of its injection in the history), a ``heal_name``
(that of its heal), a ``target`` and one-line descriptions. The engine
(:meth:`chaos.engine.RunContext.inject`) records both in the history and puts the heal on the
cleanup stack the moment the fault is injected.

Adding a fault is one class here; see the README's "Add a fault"."""

from __future__ import annotations

from chaos.faults.base import Fault
from chaos.faults.node import Kill, Pause, Stop
from chaos.faults.partition import Partition
from chaos.faults.replication import StopSqlThread

__all__ = ["Fault", "Kill", "Partition", "Pause", "Stop", "StopSqlThread"]
