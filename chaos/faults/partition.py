"""Network partitions between loopback addresses, with iptables DROP rules (no netem here).

Every node has its own loopback address and opens its connections from it
(``bind-source-addr``), so a rule on (source address, destination address) cuts exactly the
links between two nodes, while clients, which connect from 127.0.0.1, still reach both sides.
Rules are recorded in the state directory before they are inserted, so ``chaos down`` removes
them even if the harness died mid-run. Only loopback addresses are ever targeted."""

from __future__ import annotations

from collections.abc import Iterable

from chaos.faults.base import Fault
from chaos.faults.iptables import drop_rule, insert_rules, remove_rules, rule_comment
from chaos.state import StateDir


class Partition(Fault):
    """Drop TCP packets from every address of ``side_a`` to every address of ``side_b`` (and
    back, with ``both_ways``). ``src_port`` limits the cut to packets leaving that port of
    ``side_a`` (e.g. one master's replication stream, not its cluster bus)."""

    name, heal_name = "partition", "heal-partition"

    def __init__(self, state: StateDir, side_a: Iterable[str], side_b: Iterable[str], both_ways: bool = True,
                 src_port: int | None = None, label: str | None = None, name: str | None = None,
                 heal_name: str | None = None):
        self.state = state
        self.side_a, self.side_b = sorted(set(side_a)), sorted(set(side_b))
        self.both_ways, self.src_port = both_ways, src_port
        self.name = name or self.name
        self.heal_name = heal_name or self.heal_name
        arrow = "↔" if both_ways else "→"
        port = f":{src_port}" if src_port else ""
        self.target = label or f"{','.join(self.side_a)}{port} {arrow} {','.join(self.side_b)}"
        comment = rule_comment(state)
        self.rules = [drop_rule(a, b, src_port, comment=comment) for a in self.side_a for b in self.side_b]
        if both_ways:
            self.rules += [drop_rule(b, a, None, dst_port=src_port, comment=comment)
                           for a in self.side_a for b in self.side_b]

    def inject(self) -> None:
        insert_rules(self.state, self.rules)

    def heal(self) -> None:
        remove_rules(self.state, self.rules)

    def describe(self) -> str:
        return f"partition: dropping {self.target} ({len(self.rules)} iptables rules)"

    def describe_heal(self) -> str:
        return f"partition healed: {self.target}"


class CutConnection(Partition):
    """Drop both directions of one TCP connection (``a_host:a_port`` ↔ ``b_host:b_port``), e.g. a
    replica's replication connection to its source, while every other client of both still gets
    through. A new connection (from another port) is not held back."""

    def __init__(self, state: StateDir, a_host: str, a_port: int, b_host: str, b_port: int, label: str,
                 name: str = "cut-connection", heal_name: str = "heal-connection"):
        super().__init__(state, [a_host], [b_host], both_ways=False, label=label, name=name, heal_name=heal_name)
        comment = rule_comment(state)
        self.rules = [drop_rule(a_host, b_host, a_port, b_port, comment=comment),
                      drop_rule(b_host, a_host, b_port, a_port, comment=comment)]
