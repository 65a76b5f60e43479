"""A scenario's `chaos run NAME` command, made from its plan and its config class."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from chaos.engine.repeat import run_plan
from chaos.options import config_from_options, options_of


class ScenarioCommand(click.Command):
    """A scenario's command; ``config`` is the config class its options build."""

    config: type


def scenario_command(plan: Any, config: type, help: str, exclude: Iterable[str] = ()) -> ScenarioCommand:
    """`chaos run NAME`: the options of ``config`` (less ``exclude``), then the plan run with them."""
    @click.command(plan.name, cls=ScenarioCommand, help=help)
    @options_of(config, exclude=exclude)
    @click.pass_obj
    def command(state: Any, **options: Any) -> None:
        raise SystemExit(run_plan(plan, config_from_options(config, options), state))
    command.config = config
    return command
