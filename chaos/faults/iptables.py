"""Drop the packets of one TCP link with iptables (the kernel here has no netem).

Only loopback addresses are ever targeted. Every rule is recorded in the state directory
before it is inserted, so ``chaos down`` removes it even if the harness died mid-run."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass

from chaos.errors import ChaosError
from chaos.state import StateDir

COMMENT = "chaos-harness"


def _loopback(address: str) -> str:
    if not ipaddress.ip_address(address).is_loopback:
        raise ChaosError(f"refusing to touch traffic of {address}: the harness only targets loopback addresses")
    return address


@dataclass(frozen=True)
class DropLink:
    """Drop TCP packets from ``src_host:src_port`` to ``dst_host`` (one direction of a link)."""

    src_host: str
    src_port: int
    dst_host: str

    @property
    def rule(self) -> list[str]:
        return ["OUTPUT", "-p", "tcp", "-s", _loopback(self.src_host), "--sport", str(self.src_port),
                "-d", _loopback(self.dst_host), "-m", "comment", "--comment", COMMENT, "-j", "DROP"]

    def describe(self) -> str:
        return f"drop {self.src_host}:{self.src_port} → {self.dst_host}"

    def inject(self, state: StateDir) -> None:
        binary = iptables()
        data = state.load()
        if self.rule not in data["rules"]:
            data["rules"].append(self.rule)
            state.save(data)
        run = subprocess.run([binary, "-w", "-I", *self.rule], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            self.heal(state)
            raise ChaosError(f"iptables refused the rule ({run.stderr.strip()}); the harness needs root and iptables")

    def heal(self, state: StateDir) -> None:
        remove_rule(self.rule)
        data = state.load()
        if self.rule in data["rules"]:
            data["rules"].remove(self.rule)
            state.save(data)


def iptables() -> str:
    binary = shutil.which("iptables") or shutil.which("iptables", path="/usr/sbin:/sbin")
    if binary is None:
        raise ChaosError("iptables is not installed; install it with `apt-get install -y iptables`")
    return binary


def remove_rule(rule: list[str]) -> None:
    """Delete every copy of ``rule`` (idempotent)."""
    binary = iptables()
    while subprocess.run([binary, "-w", "-C", *rule], capture_output=True, check=False).returncode == 0:
        subprocess.run([binary, "-w", "-D", *rule], capture_output=True, check=False)


def heal_recorded_rules(state: StateDir) -> int:
    """Remove every rule recorded in the state directory; returns how many there were."""
    data = state.load()
    rules = data["rules"]
    for rule in rules:
        remove_rule(rule)
    if rules:
        data["rules"] = []
        state.save(data)
    return len(rules)
