"""Fault schedules for soak runs: a seeded list of fault episodes (which fault, against which
role, when, held how long, and which episode it overlaps), written to ``schedule.json`` before
the first fault and followed exactly; ``--replay`` reads one back, whole or one episode.

Pure: no clock, no network. An episode names a *role* and a *pick*, not a node: the node is
chosen when the episode starts, among the nodes that hold that role at that moment (sorted by
name, ``pick`` modulo their number), so a replay against a cluster whose roles moved still hits
"a master" as the first run did."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError

# fault kind → the roles it can target
KINDS: dict[str, tuple[str, ...]] = {
    "kill": ("master",),            # SIGKILL a master; restarted once a replica took over
    "pause": ("master",),           # SIGSTOP a master, held, SIGCONT
    "partition": ("master", "replica"),  # cut a node off from the others (clients still reach it), held
    "stop-replica": ("replica",),   # SIGKILL a replica, held, restarted
    "stale": ("master",),           # cut a master's replication stream, then kill it: a forced loss
}
OVERLAP_KINDS = ("kill", "pause", "partition", "stop-replica")  # what may start during another episode
VERSION = 1


@dataclass(frozen=True)
class Episode:
    index: int                  # 1-based, in start order
    kind: str
    role: str                   # the role of the target when the episode starts
    pick: int                   # which node of that role (sorted by name, modulo their number)
    at: float                   # seconds from the start of the load
    hold: float | None          # seconds the fault is held (None: a kill, healed once promoted)
    overlaps: int | None = None  # the episode this one starts during

    def describe(self) -> str:
        held = "" if self.hold is None else f", held {self.hold:g} s"
        during = "" if self.overlaps is None else f", during episode {self.overlaps}"
        return f"episode {self.index}: {self.kind} of a {self.role} at {self.at:.1f} s{held}{during}"


@dataclass(frozen=True)
class Schedule:
    seed: int
    faults: tuple[str, ...]
    duration: float
    interval: float
    jitter: float
    overlap: float
    node_timeout_ms: int
    episodes: tuple[Episode, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, **{k: v for k, v in asdict(self).items() if k != "episodes"},
                "faults": list(self.faults), "episodes": [asdict(e) for e in self.episodes]}


UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str, what: str = "a duration") -> float:
    """``90``, ``90s``, ``20m``, ``2h``, ``1.5h`` → seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", str(text))
    if not m:
        raise ChaosError(f"{what} {text!r} is not a duration: give seconds (90, 90s), minutes (20m) or hours (2h)")
    return float(m.group(1)) * UNITS[m.group(2) or ""]


def parse_interval(text: str) -> tuple[float, float]:
    """``40s±15s`` (or ``40s+-15s``, or ``40s`` alone) → (mean seconds, jitter seconds)."""
    mean, sep, jitter = str(text).replace("+-", "±").partition("±")
    m, j = parse_duration(mean, "--interval"), parse_duration(jitter, "--interval's jitter") if sep else 0.0
    if m <= 0 or j >= m:
        raise ChaosError(f"--interval {text}: the mean must be positive and larger than the jitter "
                         "(e.g. 40s±15s)")
    return m, j


def parse_faults(text: str | Sequence[str]) -> tuple[str, ...]:
    names = [f.strip() for f in (text.split(",") if isinstance(text, str) else text) if f.strip()]
    if not names:
        raise ChaosError(f"--faults: no fault given; faults: {', '.join(KINDS)}")
    unknown = [f for f in names if f not in KINDS]
    if unknown:
        raise ChaosError(f"--faults {','.join(names)}: unknown fault {unknown[0]!r}; faults: {', '.join(KINDS)}")
    return tuple(dict.fromkeys(names))


def auto_hold(kind: str, node_timeout_ms: int) -> float | None:
    """Long enough for a failover where one is expected (2 × node timeout + 2 s, as the single
    fault scenarios hold); a kill is healed once promoted (None)."""
    return None if kind in ("kill", "stale") else round(2 * node_timeout_ms / 1000.0 + 2.0, 3)


def build(seed: int, faults: Sequence[str], duration: float, interval: float, jitter: float,
          node_timeout_ms: int, start: float = 0.0, hold: float | None = None, overlap: float = 0.0) -> Schedule:
    """The episodes of a soak: the first at ``start`` + one interval, then one every
    ``interval`` ± ``jitter`` seconds (uniform) while one still fits before ``duration`` with its
    hold and a recovery of one interval's mean; with probability ``overlap`` an episode gets a
    second one starting during it (a quarter to three quarters of the way into its hold, or into
    the node timeout for a kill). ``hold``: seconds, or None for :func:`auto_hold`. The same
    arguments give the same schedule."""
    if not 0.0 <= overlap <= 1.0:
        raise ChaosError(f"--overlap {overlap}: give a probability between 0 and 1")
    rng = random.Random(seed)
    faults = parse_faults(faults)
    episodes: list[Episode] = []

    def episode(kind: str, at: float, overlaps: int | None = None) -> Episode:
        held = auto_hold(kind, node_timeout_ms) if hold is None or kind in ("kill", "stale") else hold
        return Episode(len(episodes) + 1, kind, rng.choice(KINDS[kind]), rng.randrange(1 << 16), round(at, 3),
                       held, overlaps)

    t = start + rng.uniform(interval - jitter, interval + jitter)
    while True:
        kind = rng.choice(faults)
        first = episode(kind, t)
        busy = first.hold if first.hold is not None else 2 * node_timeout_ms / 1000.0
        if t + busy + interval > duration:
            break
        episodes.append(first)
        if overlap and rng.random() < overlap:
            kinds = [k for k in faults if k in OVERLAP_KINDS] or list(OVERLAP_KINDS[:1])
            second = episode(rng.choice(kinds), t + busy * rng.uniform(0.25, 0.75), overlaps=first.index)
            episodes.append(second)
        t += rng.uniform(interval - jitter, interval + jitter)
    return Schedule(seed, faults, duration, interval, jitter, overlap, node_timeout_ms, tuple(episodes))


def write(path: Path, schedule: Schedule) -> None:
    path.write_text(json.dumps(schedule.to_json(), indent=1) + "\n")


def load(path: str | Path) -> Schedule:
    """A ``schedule.json`` back, checked: one-line errors naming the file and the episode."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except OSError as exc:
        raise ChaosError(f"--replay {p}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ChaosError(f"--replay {p}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("episodes"), list):
        raise ChaosError(f"--replay {p}: not a schedule.json of this harness (version {VERSION}, with episodes)")
    try:
        episodes = []
        for i, e in enumerate(data["episodes"], 1):
            ep = Episode(int(e["index"]), str(e["kind"]), str(e["role"]), int(e["pick"]), float(e["at"]),
                         None if e.get("hold") is None else float(e["hold"]),
                         None if e.get("overlaps") is None else int(e["overlaps"]))
            if ep.kind not in KINDS or ep.role not in KINDS[ep.kind]:
                raise ChaosError(f"--replay {p}: episode {i}: {ep.kind} of a {ep.role} is not a fault this harness "
                                 "injects")
            episodes.append(ep)
        schedule = Schedule(int(data["seed"]), tuple(data["faults"]), float(data["duration"]), float(data["interval"]),
                            float(data["jitter"]), float(data["overlap"]), int(data["node_timeout_ms"]),
                            tuple(episodes))
    except (KeyError, TypeError, ValueError) as exc:
        raise ChaosError(f"--replay {p}: a field is missing or malformed ({type(exc).__name__}: {exc})") from None
    if [e.index for e in schedule.episodes] != list(range(1, len(schedule.episodes) + 1)) or \
            any(b.at < a.at for a, b in zip(schedule.episodes, schedule.episodes[1:])):
        raise ChaosError(f"--replay {p}: its episodes are not numbered 1.. in start order")
    return schedule


def only(schedule: Schedule, index: int, start: float) -> Schedule:
    """Episode ``index`` alone (``--episode K``), moved to start at ``start`` (after the
    warm-up), with the episode it overlaps if it has one (kept at the same distance)."""
    by_index = {e.index: e for e in schedule.episodes}
    if index not in by_index:
        raise ChaosError(f"--episode {index}: the schedule has episodes 1 to {len(schedule.episodes)}")
    chosen = by_index[index]
    keep = [by_index[chosen.overlaps], chosen] if chosen.overlaps is not None else [chosen]
    shift = start - keep[0].at
    moved = [replace(e, at=round(e.at + shift, 3)) for e in keep]
    renumber = {e.index: i for i, e in enumerate(moved, 1)}
    return replace(schedule, episodes=tuple(replace(e, index=renumber[e.index],
                                                    overlaps=renumber.get(e.overlaps) if e.overlaps else None)
                                            for e in moved))


def target(episode: Episode, roles: dict[str, str], busy: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The node an episode hits: among the nodes whose role (name → "master"/"replica") is the
    episode's, not ``busy`` (faulted by an episode still in progress), sorted by name, ``pick``
    modulo their number; None when there is none."""
    pool = sorted(n for n, r in roles.items() if r == episode.role and n not in busy)
    return pool[episode.pick % len(pool)] if pool else None
