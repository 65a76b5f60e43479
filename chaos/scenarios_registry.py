"""Scenario discovery through the ``chaos.scenarios`` entry points (see pyproject.toml).

The engine never imports the ``scenarios`` package by name: a scenario is a module with
``NAME``, ``SUMMARY`` (one line) and ``command`` (its Click command), registered as an entry
point, so scenarios from other packages plug in the same way."""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType

GROUP = "chaos.scenarios"


def _entries() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str) -> ModuleType | None:
    entry = _entries().get(name)
    return entry.load() if entry is not None else None  # type: ignore[attr-defined]


def available() -> list[tuple[str, str]]:
    """(name, one-line summary) of every scenario, sorted by name."""
    out = []
    for name in sorted(_entries()):
        module = load(name)
        out.append((name, getattr(module, "SUMMARY", "")))
    return out


def command(name: str):  # -> click.Command | None
    """The Click command of scenario ``name``, or None."""
    module = load(name)
    return getattr(module, "command", None) if module is not None else None
