"""What a run produces besides its files (:class:`Outcome`); the settings every run has
(:class:`RunConfig`) live in :mod:`chaos.settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaos.settings import RunConfig

__all__ = ["Outcome", "RunConfig"]


@dataclass
class Outcome:
    """What a run produces besides its files: the result fields it measured."""

    measurements: dict[str, Any] = field(default_factory=dict)
    checks: list[Any] = field(default_factory=list)  # the built-in checks (chaos.checkers.compose.Check)
    fault: dict[str, Any] | None = None
    topology: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    context: Any = None  # the measure context (chaos.measure_context), once the run measures
