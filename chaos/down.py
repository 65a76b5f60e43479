"""`chaos down`: stop and remove everything the harness started, in its order, whether or not
state.json survived: load processes first (so nothing sends load at stopped servers), then the
faults' traces (:mod:`chaos.traces`: firewall rules, ...), then the topologies (a paused node is
resumed before it is stopped), then whatever else carries the harness's mark."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

from chaos import leftovers
from chaos.errors import StateDirError
from chaos.state import StateDir, empty_state
from chaos.topology.kinds import load_topology, registry
from chaos.traces import kinds  # registered by the fault modules (imported by chaos.leftovers)


def down(state: StateDir, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    try:
        data: dict[str, Any] | None = state.load()
    except StateDirError as exc:
        say(f"{exc}")
        say(f"state.json is unusable: looking for what the harness left under {state.path} instead")
        data = None
    did = False
    for line in leftovers.stop_load(leftovers.find(state, docker=False)):
        say(f"stopped {line}")
        did = True
    if data is not None:
        for kind in kinds():
            recorded = kind.recorded(state)
            if recorded:
                kind.clean(state, recorded)
                say(f"removed {len(recorded)} {kind.name}(s) left by an interrupted run")
                did = True
        for name in registry():
            if name in data["topologies"]:
                topo = load_topology(state, name)
                note = getattr(topo, "roles_note", lambda: None)()
                if note:
                    say(f"{name}: {note}")
                stopped = topo.down()
                if getattr(topo, "attached", False):
                    say(f"{name} at {topo.target} (not the harness's): brought back what a run stopped, "
                        "left it running")
                else:
                    say(f"{name} down: stopped {stopped} node(s) in {time.monotonic() - started:.2f} s")
                did = True
    rest = leftovers.find(state)  # what state.json did not know about (or all of it, without one)
    if rest:
        for line in leftovers.clean(rest):
            say(f"removed leftover {line}")
        did = True
    if data is None or data.get("processes"):
        for name in registry():
            shutil.rmtree(state.topology_dir(name), ignore_errors=True)
        state.save(empty_state())
        did = True
    if not did:
        say(f"nothing is up in {state.path}; nothing to do")
