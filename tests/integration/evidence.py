"""Independent recounts from a run directory's own files, for tests whose outcome the servers may
legitimately vary.

Redis Cluster replicates asynchronously: a master SIGKILLed between acknowledging a write and
sending it to its replica loses that write, and the harness must then say FAILED. Such a loss is a
measurement, not a harness bug, so tests accept it only where the probe timeline proves it: the
write was acknowledged by the killed master after the last moment the promoted replica is known to
have held everything the master had."""

import json
from pathlib import Path

from chaos.history import read_history, records


def result_of(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())


def lost_keys(out: Path) -> set[str]:
    """Every key the run counted as lost (lost-writes.txt holds all of them, not a sample)."""
    path = out / "lost-writes.txt"
    if not path.exists():
        return set()
    return {line.split()[0] for line in path.read_text().splitlines() if line.strip()}


def _acknowledged_after_sync(out: Path, f: str) -> list:
    """The ``f`` operations the killed master acknowledged after its last probe sample whose
    replication offset the promoted replica reached before the kill. An operation the master
    executed before that sample's INFO was inside that offset, so the replica had it; one
    executed after the INFO was acknowledged after the sample was sent (a sample's time is when
    its INFO was sent, and every process reads the same monotonic clock)."""
    r = result_of(out)
    target, promoted = r["fault"]["target"], r["measurements"]["promoted"]
    probes = [s for s in records(out / "timeline.jsonl") if s["source"] == "probe"]
    down = min(s["time"] for s in probes if s["address"] == target and not s["up"])
    replica_got = max(s["offset"] for s in probes
                      if s["address"] == promoted and s["up"] and s["role"] == "replica" and s["master"] == target)
    synced = max(s["time"] for s in probes if s["address"] == target and s["up"] and s["time"] < down
                 and s["role"] == "master" and s["offset"] <= replica_got)
    return [op for op in read_history(out / "history.jsonl")
            if op.f == f and op.type == "ok" and op.node == target and op.time > synced]


def unreplicated_tail(out: Path) -> set[str]:
    """Keys of the writes the promoted replica provably never received (see _acknowledged_after_sync)."""
    return {op.key for op in _acknowledged_after_sync(out, "write")}


def unreplicated_increments(out: Path) -> int:
    """How many acknowledged increments the promoted replica provably never received."""
    return len(_acknowledged_after_sync(out, "incr"))


def assert_passed_or_lost_only_the_unreplicated_tail(out: Path, output: str, exit_code: int | None = None) -> dict:
    """A master-kill run passes, or its only failed checks are lost writes (and lost increments),
    and every lost write is one, and the lost increments at most those, the promoted replica
    provably never received. ``exit_code`` (when the run was the command's only run) must match
    the verdict. Returns the result."""
    r = result_of(out)
    lost = lost_keys(out)
    lost_increments = r["measurements"].get("lost_increments") or 0
    assert len(lost) == r["measurements"]["lost_writes"], output
    if not lost and not lost_increments:
        assert r["passed"] and exit_code in (None, 0), output
        return r
    failed = {c["name"] for c in r["checks"] if not c["passed"]}
    expected = {name for name, n in (("no_lost_writes", lost), ("no_lost_increments", lost_increments)) if n}
    assert failed == expected and not r["passed"] and exit_code in (None, 1), output
    tail = unreplicated_tail(out)
    assert lost <= tail, f"lost writes the promoted replica had received: {sorted(lost - tail)[:5]}\n{output}"
    acknowledged = unreplicated_increments(out)
    assert lost_increments <= acknowledged, \
        f"{lost_increments} increments lost, {acknowledged} acknowledged after the last sync\n{output}"
    return r
