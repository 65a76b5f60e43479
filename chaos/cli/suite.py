"""`chaos suite`: a battery of faults against one cluster, and its resilience report."""

from __future__ import annotations

from typing import Any

import click

from chaos.cli.root import cli


@cli.command("suite", context_settings={"ignore_unknown_options": True})
@click.option("--suite", "which", default="redis", show_default=True, metavar="redis|mysql|FILE",
              help="The battery: built-in `redis` (master-kill, master-pause, partition of a master and of a replica, "
              "scale-out, scale-in; also `standard`), `mysql` (replica-stop in each mode, source-kill), or a TOML "
              "suite file (scenarios, their options, the SLOs each is held to).")
@click.option("--repeat", default=1, show_default=True, help="Runs of each entry (the scorecard's n).")
@click.option("--out", default=None, type=click.Path(file_okay=False), help="The suite's directory.")
@click.option("--resume", default=None, type=click.Path(file_okay=False, exists=True), metavar="DIR",
              help="Finish the suite in DIR (runs with a result.json are kept).")
@click.argument("run_options", nargs=-1, type=click.UNPROCESSED, metavar="[-- OPTIONS...]")
@click.pass_obj
def suite(state: Any, which: str, repeat: int, out: str | None, resume: str | None, run_options: tuple[str, ...]) -> None:
    """Run a battery of scenarios against one cluster, each --repeat times, into one directory,
    with a progress line per run and the time left; then write resilience.json, resilience.md and
    resilience.html at its top: a row per fault (passed k of n with the upper bound on the failure
    rate, the write outage's median, worst and interval, acknowledged writes lost, recovery time,
    SLOs met), recommendations that each follow from a measurement, and links to every run.
    Options after `--` go to every run (e.g. `-- --attach redis://127.0.0.1:7001 --node-timeout-ms
    1000`). Every run is checked before the first starts. Ctrl-C keeps the finished runs and
    writes the report marked incomplete; `--resume DIR` completes it.

    \b
    Examples:
      chaos suite --repeat 3
      chaos suite --suite nightly.toml -- --backend docker
      chaos suite --suite mysql -- --server mariadb:11.8
      chaos suite --resume runs/suite-redis-20261202-0800
    """
    from chaos.suite import run_suite

    extra = list(run_options)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    raise SystemExit(run_suite(which, repeat, out, resume, extra, state))
