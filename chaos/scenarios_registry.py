"""Scenario discovery through the ``chaos.scenarios`` entry points (see pyproject.toml).

The engine never imports the ``scenarios`` package by name: a scenario is a module with
``NAME``, ``SUMMARY`` (one line), ``command`` (a :class:`click.Command`) and ``PLAN`` (a
:class:`chaos.engine.Plan`), registered as an entry point, so scenarios from other packages plug
in the same way. A module that lacks one of them, or holds something else under the name, is
an error naming the entry point."""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from chaos.errors import ChaosError

GROUP = "chaos.scenarios"


def _entries() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str) -> ModuleType | None:
    entry = _entries().get(name)
    return entry.load() if entry is not None else None  # type: ignore[attr-defined]


def _declared(name: str, attribute: str, kind: type) -> Any:
    module = load(name)
    if module is None:
        raise ChaosError(f"no scenario {name!r}; scenarios: {', '.join(sorted(_entries()))}")
    value = getattr(module, attribute, None)
    if not isinstance(value, kind):
        raise ChaosError(f"the scenario entry point {name!r} ({module.__name__}) has no {attribute} of type "
                         f"{kind.__name__}")
    return value


def plan(name: str) -> Any:
    """The :class:`chaos.engine.Plan` of scenario ``name``."""
    from chaos.engine import Plan

    return _declared(name, "PLAN", Plan)


def available() -> list[tuple[str, str]]:
    """(name, one-line summary) of every scenario, sorted by name."""
    return [(name, _declared(name, "SUMMARY", str)) for name in sorted(_entries())]


def command(name: str) -> Any:
    """The Click command of scenario ``name``, or None when there is no such scenario."""
    import click

    return _declared(name, "command", click.Command) if name in _entries() else None
