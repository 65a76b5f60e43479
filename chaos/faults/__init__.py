"""Faults as objects (Jepsen's nemesis protocol): each has ``inject()`` and an idempotent
``heal()``, a ``name`` (the nemesis ``f`` of its injection in the history), a ``heal_name``
(that of its heal), a ``target`` and one-line descriptions. The engine
(:meth:`chaos.engine.RunContext.inject`) records both in the history and puts the heal on the
cleanup stack the moment the fault is injected.

Adding a fault is one class here; see the README's "Add a fault"."""

from __future__ import annotations


class Fault:
    name = "fault"
    heal_name = "heal"
    target = ""
    healed = False

    def inject(self) -> None:
        raise NotImplementedError

    def heal(self) -> None:
        """Undo the fault; safe to call twice and after a failed inject."""
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} {self.target}"

    def describe_heal(self) -> str:
        return f"{self.heal_name} {self.target}"


from chaos.faults.node import Kill, Pause, Stop  # noqa: E402
from chaos.faults.partition import Partition  # noqa: E402
from chaos.faults.replication import StopSqlThread  # noqa: E402

__all__ = ["Fault", "Kill", "Partition", "Pause", "Stop", "StopSqlThread"]
