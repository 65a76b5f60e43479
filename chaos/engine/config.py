"""Settings every run has (:class:`RunConfig`, which a scenario's config extends) and what a
run produces besides its files (:class:`Outcome`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from chaos.errors import ChaosError


# -- settings every run has --------------------------------------------------------------------
@dataclass
class RunConfig:
    """Settings every scenario run has; a scenario's config extends it."""

    backend: str = "process"
    duration: float = 30.0
    warmup: float = 5.0
    users: int = 20
    rate: float | None = None
    seed: int | None = None
    workers: int | str = 1  # or "auto"
    out: str | None = None
    keep: bool = False
    metrics_port: int | None = None
    pushgateway: str | None = None
    slo: list[str] = field(default_factory=list)
    label: str | None = None  # for `chaos report compare --label`
    repeat: int = 1
    matrix: str | None = None  # --matrix redis:7.0,valkey:9.1: the scenario on each server, compared

    BACKENDS: tuple[str, ...] = ("process",)  # where this scenario's servers can run

    def validate(self) -> None:
        if self.backend not in self.BACKENDS:
            raise ChaosError(f"backend {self.backend!r} is not available for this scenario; use "
                             + " or ".join(f"--backend {b}" for b in self.BACKENDS))
        if self.duration <= 0 or self.warmup < 0 or self.users < 1 or (self.rate is not None and self.rate < 0):
            raise ChaosError("--duration must be positive, --warmup and --rate not negative, --users at least 1")
        if not 1 <= self.repeat <= 1000:
            raise ChaosError("--repeat must be between 1 and 1000")
        if self.workers == "auto":  # one load process per core but one, which the servers keep
            self.workers = max(1, min(self.users, (os.cpu_count() or 1) - 1))
        try:
            self.workers = int(self.workers)
        except ValueError:
            raise ChaosError(f"--workers must be a number or 'auto', got {self.workers!r}") from None
        if not 1 <= self.workers <= self.users:
            raise ChaosError(f"--workers must be between 1 and --users ({self.users}), got {self.workers}")

    def load_options(self) -> dict[str, Any]:
        """How the load runs: rate (0 = unpaced) and load processes."""
        return {"rate": self.rate or None, "workers": self.workers}


@dataclass
class Outcome:
    """What a run produces besides its files: the result fields it measured."""

    measurements: dict[str, Any] = field(default_factory=dict)
    checks: list[Any] = field(default_factory=list)  # the built-in checks (chaos.checkers.compose.Check)
    fault: dict[str, Any] | None = None
    topology: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    context: Any = None  # the measure context (chaos.measure_context), once the run measures
