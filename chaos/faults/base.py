"""The fault protocol (Jepsen's nemesis): every fault kind is a subclass of :class:`Fault`."""

from __future__ import annotations


class Fault:
    name = "fault"
    heal_name = "heal"
    target = ""

    def inject(self) -> None:
        raise NotImplementedError

    def heal(self) -> None:
        """Undo the fault; safe to call twice and after a failed inject."""
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} {self.target}"

    def describe_heal(self) -> str:
        return f"{self.heal_name} {self.target}"
