"""The ``chaos`` command's root: a thin Click layer. Commands parse options, build objects, call
one function, and map :class:`~chaos.errors.ChaosError` to a one-line message and an exit code.
The command groups live beside it (``chaos.cli.topology``, ``runs``, ``load``, ``capacity``,
``images``)."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from chaos import __version__
from chaos.errors import EXIT_INTERRUPTED, ChaosError
from chaos.state import DEFAULT_STATE_DIR, StateDir


def say(message: str) -> None:
    click.echo(message, err=True)


class ChaosGroup(click.Group):
    """Turns the harness's own errors into one line on stderr and an exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChaosError as exc:
            click.echo(f"chaos: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("chaos: interrupted; everything started by this command was stopped", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=ChaosGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chaos")
@click.option(
    "--state-dir", envvar="CHAOS_STATE_DIR", default=DEFAULT_STATE_DIR, show_default=True,
    type=click.Path(file_okay=False), help="Where the harness keeps node files and what it started "
    "(env CHAOS_STATE_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, state_dir: str) -> None:
    """Failover and chaos testing for Redis Cluster and MySQL/MariaDB replication.

    \b
    Examples:
      chaos up redis-cluster          # 3 masters + 3 replicas on 127.0.0.11:7001 …
      chaos status                    # roles, slots, keys, links, pids
      chaos down                      # stop and remove everything the harness started

    Exit codes: 0 ok, 1 a check failed, 2 bad input or environment, 130 interrupted.
    """
    ctx.obj = StateDir(state_dir)


class ScenarioGroup(click.Group):
    """`chaos run NAME`: the scenarios' own commands, found in the scenario registry."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from chaos.scenarios_registry import available

        return [name for name, _ in available()]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from chaos.scenarios_registry import command

        return command(name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0]
        cmd = self.get_command(ctx, name)
        if cmd is None and not name.startswith("-"):
            known = ", ".join(self.list_commands(ctx)) or "none"
            raise ChaosError(f"unknown scenario {name!r}; known scenarios: {known} (see `chaos list`)")
        return super().resolve_command(ctx, args)


@cli.group(cls=ScenarioGroup)
def run() -> None:
    """Run a scenario: provision (or attach), load, fault, measure, report.

    \b
    Examples:
      chaos run master-kill
      chaos run master-kill --node-timeout-ms 1000 --slo 'failover_seconds<=5'
    """


@cli.command("list")
def list_scenarios() -> None:
    """List the scenarios `chaos run` knows, with a one-line description each."""
    from chaos.scenarios_registry import available

    scenarios = available()
    if not scenarios:
        say("no scenarios yet")
    for name, summary in scenarios:
        click.echo(f"{name:16} {summary}")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:  # pragma: no cover - console entry point
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so teardown in `finally` still runs.
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(cli())
