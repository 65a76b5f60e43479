"""A plan run once, ``--repeat N`` times, or on each server of ``--matrix``, then compared."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from chaos.engine.config import RunConfig
from chaos.engine.loop import Engine
from chaos.engine.report_writers import compare_runs
from chaos.engine.steps import Plan
from chaos.errors import ChaosError
from chaos.runner import make_run_dir
from chaos.state import StateDir


def run_plan(plan: Plan, config: RunConfig, state_dir: StateDir) -> int:
    """Run a plan once, or ``--repeat N`` times into one parent directory, or ``--matrix`` N
    times per server, then compare the runs (the ``compare`` report module; a matrix is grouped
    by server, the first one the baseline). The exit code is 0 only if every run passed."""
    servers = matrix_servers(config, state_dir)
    if config.repeat <= 1 and not servers:
        return Engine(plan, config, state_dir).run()
    name = f"{plan.name}-matrix" if servers else f"{plan.name}-x{config.repeat}"
    parent = make_run_dir(name, config.out)
    each: list[str | None] = [*servers] or [None]
    runs = [(server, i) for server in each for i in range(config.repeat)]
    codes, dirs = [], []
    for n, (server, i) in enumerate(runs):
        seed = None if config.seed is None else config.seed + i
        sub = f"{server.replace(':', '-')}-{i + 1:02d}" if server else f"run-{i + 1:02d}"
        changes: dict[str, Any] = {"out": str(parent / sub), "repeat": 1, "seed": seed, "matrix": None}
        if server:
            changes["server"] = server
        one = replace(config, **changes)
        click.echo(f"== {plan.name} run {n + 1} of {len(runs)}" + (f" ({server})" if server else "") + " ==",
                   err=True)
        codes.append(Engine(plan, one, state_dir).run())
        dirs.append(parent / sub)
    table = compare_runs(dirs, parent / "compare.html", group_by="server" if servers else None,
                         baseline=f"server={servers[0]}" if servers else None)
    if table is not None:
        click.echo(table)
        click.echo(f"comparison: {parent / 'compare.html'}")
    click.echo(f"{sum(1 for c in codes if c == 0)} of {len(codes)} runs passed; runs in {parent}")
    return 0 if all(c == 0 for c in codes) else 1


def matrix_servers(config: RunConfig, state_dir: StateDir) -> list[str]:
    """The servers of ``--matrix``, each checked before the first run starts (a missing image
    or binary is a one-line error, not a failed run an hour later)."""
    if not config.matrix:
        return []
    if not hasattr(config, "server"):
        raise ChaosError("--matrix needs a scenario that takes --server")
    from chaos.backends import make_backend
    from chaos.servers import parse_server, server_kind

    servers = [s.strip() for s in config.matrix.split(",") if s.strip()]
    if len(servers) < 2 or len(set(servers)) != len(servers):
        raise ChaosError("--matrix needs at least two different servers, e.g. --matrix redis:7.0,valkey:9.1")
    backend = make_backend(config.backend, state_dir.path)
    for text in servers:
        as_asked: dict[str, Any] = {"server": text, "matrix": None, "repeat": 1}
        replace(config, **as_asked).validate()  # a server of the scenario's kind
        backend.require(server_kind(text), parse_server(text, server_kind(text)))
    return servers
