"""Scenario discovery. Scenarios live in the top-level ``scenarios`` package and register
themselves there; the engine only lists what it finds, it never imports scenario internals."""

from __future__ import annotations

import importlib


def available() -> list[tuple[str, str]]:
    """(name, one-line summary) of every scenario, sorted by name."""
    try:
        module = importlib.import_module("scenarios")
    except ImportError:
        return []
    registry = getattr(module, "SCENARIOS", {})
    return sorted((name, s.SUMMARY) for name, s in registry.items())


def command(name: str):  # -> click.Command | None
    """The Click command of scenario ``name``, or None."""
    try:
        module = importlib.import_module("scenarios")
    except ImportError:
        return None
    scenario = getattr(module, "SCENARIOS", {}).get(name)
    return getattr(scenario, "command", None)
