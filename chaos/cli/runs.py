"""`chaos analyze`, `chaos history`, `chaos report`: a run's files, verdict and reports again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from chaos.cli.root import cli, say
from chaos.errors import ChaosError


def _plan_of(run_dir: str) -> Any:
    from chaos.engine.rundir import STARTED_FILE
    from chaos.scenarios_registry import plan

    path = Path(run_dir) / "result.json"
    if not path.exists() and (Path(run_dir) / STARTED_FILE).exists():  # a run killed before its result.json
        path = Path(run_dir) / STARTED_FILE
    try:
        name = json.loads(path.read_text()).get("scenario")
    except (OSError, ValueError) as exc:
        raise ChaosError(f"cannot read {path} ({exc}); give the directory of a run") from None
    try:
        return plan(name or "?")
    except ChaosError:
        raise ChaosError(f"{path} names scenario {name!r}, which this chaos does not know") from None


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--slo", multiple=True, help="Check these instead of the run's own SLOs (repeatable).")
def analyze(run_dir: str, slo: tuple[str, ...]) -> None:
    """Recompute a finished run's verdict from its files: the history, timeline.jsonl and the
    final read (checkers are pure functions of them); what could only be measured live (replica
    comparison, table checksums) is kept. Rewrites result.json, report.md and metrics.prom.

    A soak whose harness was killed (no result.json) or stopped by Ctrl-C is judged on the
    episodes it finished: their failovers, outages, rejoins and recovery; lost writes stay
    unknown (it never read its keys back), and the verdict is INTERRUPTED, never PASSED.

    \b
    Examples:
      chaos analyze runs/master-kill-20261129T150155Z
      chaos analyze runs/master-kill-20261129T150155Z --slo 'write_unavailable_seconds<=3'
    """
    from chaos.engine import reanalyze

    raise SystemExit(reanalyze(_plan_of(run_dir), Path(run_dir), list(slo)))


class ReportGroup(click.Group):
    """`chaos report RUN_DIR` shows a run's report; `chaos report compare RUN_DIR...` compares."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--jsonl", is_flag=True, help="Print every record as a plain JSON line (to pipe into jq, grep, ...).")
def history(run_dir: str, jsonl: bool) -> None:
    """A run's operation history: a summary, or with --jsonl every record as a JSON line.

    Finished runs keep it as history.jsonl.zst (zstd-compressed JSON lines, about 20 bytes a
    record); runs of older versions as plain history.jsonl; both read here.

    \b
    Examples:
      chaos history runs/master-kill-20261129T150155Z
      chaos history runs/master-kill-20261129T150155Z --jsonl | jq -c 'select(.type=="info")'
      chaos history RUN_DIR --jsonl > history.jsonl     # the plain file of older versions
    """
    import os

    from chaos.history import history_path, open_lines

    path = history_path(run_dir)
    if not path.exists():
        raise ChaosError(f"{run_dir} has no history (history.jsonl.zst or history.jsonl); is it a run directory?")
    if jsonl:
        with open_lines(path) as lines:
            for line in lines:
                if line.endswith("\n"):
                    click.echo(line, nl=False)
        return
    counts: dict[str, int] = {}
    records = 0
    with open_lines(path) as lines:
        for line in lines:
            if not line.endswith("\n"):
                break
            records += 1
            kind = line[line.index('"type":"') + 8 :].split('"', 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
    size = os.path.getsize(path)
    click.echo(f"{path}: {records} records ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
               f"{size / 1e6:.1f} MB on disk, {size / max(records, 1):.1f} bytes a record")


@cli.group(cls=ReportGroup)
def report() -> None:
    """A run's report, or a comparison of runs.

    \b
    Examples:
      chaos report runs/replica-stop-20261129T151659Z | less
      chaos report runs/master-kill-20261129T150155Z --format html --open
      chaos report compare runs/nt1000-* runs/nt3000-* --group-by node_timeout_ms
    """


@report.command("show")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True,
              help="md and json print to stdout; html (re)writes RUN_DIR/report.html and its charts and prints its path.")
@click.option("--open", "open_it", is_flag=True, help="Open report.html in a browser (with --format html).")
def report_show(run_dir: str, fmt: str, open_it: bool) -> None:
    """Print or render a run's report again from its files (result.json, history, timeline)."""
    from chaos.engine import read_result, report_text, write_reports

    path = Path(run_dir)
    if fmt != "html":
        click.echo(report_text(path, fmt))
        return
    write_reports(path, read_result(path))  # the charts and every report, again
    page = (path / "report.html").absolute()
    click.echo(str(page))
    if open_it:
        import webbrowser

        if not webbrowser.open(page.as_uri()):
            say(f"no browser to open {page} with; open it by hand")


@report.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--group-by", default=None, metavar="KEY",
              help="Group by this setting (e.g. node_timeout_ms, backend) [default: every setting that differs].")
@click.option("--label", "by_label", is_flag=True, help="Group by each run's --label.")
@click.option("--baseline", default=None, help="The group the others are compared with [default: the first].")
@click.option("--min-change", default=0.1, show_default=True,
              help="Smaller changes of a median are shown as ~ (not a regression).")
@click.option("--out", type=click.Path(dir_okay=False), default="compare.html", show_default=True,
              help="The HTML page: dots per run per measurement, throughput curves aligned at the fault.")
def report_compare(run_dirs: tuple[str, ...], group_by: str | None, by_label: bool, baseline: str | None,
                   min_change: float, out: str) -> None:
    """Compare runs: per group n, median and an interval per measurement; against the baseline
    the change of the median with an exact Mann–Whitney p; failed runs and runs that lost writes
    as k of n, with an upper bound on the rate and Fisher's exact test. A difference that is not
    significant (p ≥ 0.05) or below --min-change shows as ~. Exits 1 on a regression beyond that
    (a CI gate). A directory of runs (from --repeat) stands for all of them.

    \b
    Examples:
      chaos report compare runs/master-kill-x6-20261129T200000Z
      chaos report compare runs/a-* runs/b-* --label --baseline before-upgrade
    """
    from chaos.engine.report_writers import comparison

    compare = comparison()
    if compare is None:
        raise ChaosError("no comparison report is installed (the `compare` entry point of chaos.reports)")
    if group_by and by_label:
        raise ChaosError("give either --group-by or --label, not both")
    table, regressed = compare.compare_dirs(run_dirs, Path(out), group_by, by_label, baseline, min_change)
    click.echo(table)
    click.echo(f"page: {Path(out).absolute()}")
    raise SystemExit(1 if regressed else 0)
