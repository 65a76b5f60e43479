"""Report writers, found through the ``chaos.reports`` entry points. Each entry point names an
object of one of the declared kinds below (not a module probed with ``hasattr``):

* :class:`RunWriter`: writes files of its own into a run directory (the charts);
* :class:`ReportFormat`: one file rendered from result.json (report.md, report.html), also
  what `chaos report --format` prints;
* :class:`RunComparison`: sets several runs side by side (`--repeat`, `--matrix`,
  `chaos report compare`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from chaos.engine.rundir import read_result
from chaos.errors import ChaosError

REPORTS_GROUP = "chaos.reports"


@dataclass(frozen=True)
class RunWriter:
    """Writes its own files into a run directory: ``write(run_dir, result)``."""

    write: Callable[[Path, dict[str, Any]], Any]
    order: int = 0


@dataclass(frozen=True)
class ReportFormat:
    """A report in ``filename``: ``render(result, run_dir) -> str``."""

    filename: str
    render: Callable[[dict[str, Any], Path | None], str]
    order: int = 10


@dataclass(frozen=True)
class RunComparison:
    """``compare_dirs(dirs, out, group_by=, baseline=) -> (table, comparison)``."""

    compare_dirs: Callable[..., tuple[str, Any]]
    order: int = 100


@dataclass(frozen=True)
class SuiteReport:
    """``write(parent, scorecard) -> [files]``: the resilience report of a suite (`chaos suite`)."""

    write: Callable[[Path, dict[str, Any]], list[Path]]
    order: int = 200


Writer = RunWriter | ReportFormat | RunComparison | SuiteReport


def report_writers() -> dict[str, Writer]:
    """name → writer, in their ``order``; an entry point of no declared kind is an error."""
    found: dict[str, Writer] = {}
    for ep in entry_points(group=REPORTS_GROUP):
        writer = ep.load()
        if not isinstance(writer, RunWriter | ReportFormat | RunComparison | SuiteReport):
            raise ChaosError(f"the report entry point {ep.name!r} ({ep.value}) is not a RunWriter, ReportFormat, "
                             "RunComparison or SuiteReport; reinstall the package (./scripts/setup)")
        found[ep.name] = writer
    return dict(sorted(found.items(), key=lambda kv: kv[1].order))


def formats() -> dict[str, ReportFormat]:
    return {n: w for n, w in report_writers().items() if isinstance(w, ReportFormat)}


def comparison() -> RunComparison | None:
    return next((w for w in report_writers().values() if isinstance(w, RunComparison)), None)


def suite_report() -> SuiteReport | None:
    return next((w for w in report_writers().values() if isinstance(w, SuiteReport)), None)


def write_reports(run_dir: Path, result: dict[str, Any]) -> None:
    """Every report of the run; one that fails is a warning, never the run's failure (side output)."""
    for name, writer in report_writers().items():
        try:
            if isinstance(writer, RunWriter):
                writer.write(run_dir, result)
            elif isinstance(writer, ReportFormat):
                (run_dir / writer.filename).write_text(writer.render(result, run_dir))
        except Exception as exc:
            click.echo(f"chaos: warning: the {name} report could not be written ({type(exc).__name__}: {exc})",
                       err=True)


def report_formats() -> list[str]:
    return ["json", *formats()]


def report_text(run_dir: Path, fmt: str = "md") -> str:
    """A run's report rendered again from its result.json (`chaos report RUN_DIR`)."""
    result = read_result(run_dir)
    if fmt == "json":
        return json.dumps(result, indent=2, default=str)
    found = formats()
    if fmt not in found:
        raise ChaosError(f"no report format {fmt!r}; formats: {', '.join(report_formats())}")
    return found[fmt].render(result, run_dir)


def compare_runs(dirs: Sequence[Path], out: Path, **options: Any) -> str | None:
    """The comparison table of ``dirs`` (and ``out`` written), or None without a comparison writer."""
    compare = comparison()
    if compare is None:
        return None
    table, _ = compare.compare_dirs(dirs, out, **options)
    return table
