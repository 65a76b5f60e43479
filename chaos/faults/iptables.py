"""iptables DROP rules on loopback traffic: build, insert (recorded first), remove.

Only loopback addresses are ever targeted. Every rule is recorded in the state directory
before it is inserted, so ``chaos down`` removes it even if the harness died mid-run."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess

from chaos.errors import ChaosError
from chaos.state import StateDir
from chaos.traces import TraceKind, register

COMMENT = "chaos-harness"  # every rule's comment starts with it; then ":<scope of the state dir>"


def rule_comment(state: StateDir) -> str:
    return f"{COMMENT}:{state.scope}"


def _loopback(address: str) -> str:
    if not ipaddress.ip_address(address).is_loopback:
        raise ChaosError(f"refusing to touch traffic of {address}: the harness only targets loopback addresses")
    return address


def drop_rule(src_host: str, dst_host: str, src_port: int | None = None, dst_port: int | None = None,
              comment: str = COMMENT) -> list[str]:
    """An OUTPUT rule dropping TCP packets from ``src_host[:src_port]`` to ``dst_host[:dst_port]``."""
    rule = ["OUTPUT", "-p", "tcp", "-s", _loopback(src_host)]
    if src_port:
        rule += ["--sport", str(src_port)]
    rule += ["-d", _loopback(dst_host)]
    if dst_port:
        rule += ["--dport", str(dst_port)]
    return rule + ["-m", "comment", "--comment", comment, "-j", "DROP"]


def iptables() -> str:
    binary = shutil.which("iptables") or shutil.which("iptables", path="/usr/sbin:/sbin")
    if binary is None:
        raise ChaosError("iptables is not installed; install it with `apt-get install -y iptables`")
    return binary


def insert_rules(state: StateDir, rules: list[list[str]]) -> None:
    """Record, then insert, every rule; on a refusal remove what was inserted and raise."""
    binary = iptables()
    FIREWALL_RULES.record(state, rules)
    for rule in rules:
        run = subprocess.run([binary, "-w", "-I", *rule], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            remove_rules(state, rules)
            raise ChaosError(f"iptables refused a rule ({run.stderr.strip()}); the harness needs root and iptables")


def remove_rules(state: StateDir, rules: list[list[str]]) -> None:
    """Delete every copy of each rule and forget it (idempotent)."""
    FIREWALL_RULES.clean(state, rules)


def remove_rule(rule: list[str]) -> None:
    """Delete every copy of ``rule`` (idempotent)."""
    binary = iptables()
    while subprocess.run([binary, "-w", "-C", *rule], capture_output=True, check=False).returncode == 0:
        subprocess.run([binary, "-w", "-D", *rule], capture_output=True, check=False)


def rules_with_comment(comment: str) -> list[list[str]]:
    """Rules of the OUTPUT chain carrying ``comment`` (as ``iptables -S`` prints them, ready for
    ``iptables -D``): how `chaos down` finds rules when state.json is lost."""
    binary = shutil.which("iptables") or shutil.which("iptables", path="/usr/sbin:/sbin")
    if binary is None:
        return []
    listed = subprocess.run([binary, "-w", "-S", "OUTPUT"], capture_output=True, text=True, check=False)
    out = []
    for line in listed.stdout.splitlines():
        parts = [p.strip('"') for p in line.split()]
        if parts[:2] == ["-A", "OUTPUT"] and "--comment" in parts:
            if parts[parts.index("--comment") + 1] == comment:
                out.append(parts[1:])
    return out


FIREWALL_RULES = register(TraceKind(
    "firewall rule", "rules", find=lambda state: rules_with_comment(rule_comment(state)), remove=remove_rule,
    describe=lambda rule: " ".join(rule)))
