"""`chaos suite`: a battery of scenarios against one cluster, each run N times into one parent
directory, then the resilience report (:mod:`chaos.resilience`, drawn by the ``resilience``
report writer). A suite is a built-in one (``redis``, ``mysql``) or a TOML file:

    name = "nightly"
    [defaults]                       # options every run gets, spelled as on the command line
    node-timeout-ms = 1000
    [[run]]
    scenario = "partition"
    name = "partition-replica"       # optional: the scorecard's row (default: the scenario)
    options = { isolate = "replica" }
    slo = ["write_unavailable_seconds<=6"]

Every run is checked (its scenario, its options, its SLOs) before the first one starts; an error
names the file's line. ``suite.json`` in the parent directory records the suite as it ran, so
``--resume DIR`` finishes an interrupted suite (runs with a result.json are kept)."""

from __future__ import annotations

import json
import re
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from chaos.errors import ChaosError
from chaos.state import StateDir

SUITE_FILE = "suite.json"
BUILT_IN: dict[str, dict[str, Any]] = {
    "redis": {"name": "redis", "run": [
        {"scenario": "master-kill"},
        {"scenario": "master-pause"},
        {"scenario": "partition", "name": "partition-master", "options": {"isolate": "master"}},
        {"scenario": "partition", "name": "partition-replica", "options": {"isolate": "replica"}},
        {"scenario": "scale-out"},
        {"scenario": "scale-in"},
    ]},
    "mysql": {"name": "mysql", "run": [
        {"scenario": "replica-stop", "name": "replica-stop", "options": {"mode": "stop"}},
        {"scenario": "replica-stop", "name": "replica-kill", "options": {"mode": "kill"}},
        {"scenario": "replica-stop", "name": "replica-sql-thread", "options": {"mode": "sql-thread"}},
        {"scenario": "source-kill"},
    ]},
}
BUILT_IN["standard"] = BUILT_IN["redis"]
SET_BY_THE_SUITE = {"out", "repeat", "matrix"}


@dataclass
class Entry:
    name: str
    scenario: str
    args: list[str]
    slos: list[str]
    line: int | None = None  # in the suite file


def to_args(options: dict[str, Any]) -> list[str]:
    """{"node-timeout-ms": 1000, "keep": True, "slo": ["a<=1"]} → ["--node-timeout-ms", "1000", "--keep", ...]."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for v in value:
                args += [flag, str(v)]
        else:
            args += [flag, str(value)]
    return args


def _run_lines(text: str) -> list[int]:
    """The line number of each ``[[run]]`` table of a suite file, in order."""
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*run\s*\]\]", line)]


def load_suite(which: str) -> tuple[dict[str, Any], str]:
    """A built-in suite by name, or a TOML file: (its data, where it came from)."""
    if which in BUILT_IN:
        return BUILT_IN[which], f"built-in suite {which!r}"
    path = Path(which)
    if not path.exists():
        raise ChaosError(f"--suite {which}: no such file, and not a built-in suite ({', '.join(sorted(BUILT_IN))})")
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChaosError(f"{path}: not valid TOML: {exc}") from None
    for entry, line in zip(data.get("run") or [], _run_lines(text)):
        if isinstance(entry, dict):
            entry["_line"] = line
    return data, str(path)


def entries_of(data: dict[str, Any], source: str) -> list[Entry]:
    """The suite's runs, each checked as `chaos run` would check it; one-line errors with the line."""
    from chaos import scenarios_registry
    from chaos.options import config_from_options

    unknown = set(data) - {"name", "defaults", "run"}
    if unknown:
        raise ChaosError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; a suite has name, [defaults] and "
                         "[[run]] tables")
    runs = data.get("run")
    if not isinstance(runs, list) or not runs:
        raise ChaosError(f"{source}: no [[run]] tables: a suite lists the scenarios it runs")
    defaults = data.get("defaults") or {}
    out, names = [], set()
    for i, run in enumerate(runs, 1):
        line = run.get("_line") if isinstance(run, dict) else None
        where = f"{source}:{line}" if line else source
        if not isinstance(run, dict) or "scenario" not in run:
            raise ChaosError(f"{where}: run {i} names no scenario (scenario = \"master-kill\")")
        bad = set(run) - {"scenario", "name", "options", "slo", "_line"}
        if bad:
            raise ChaosError(f"{where}: run {i}: unknown key(s) {', '.join(sorted(bad))}; a run has scenario, name, "
                             "options and slo")
        scenario = run["scenario"]
        command = scenarios_registry.command(scenario)
        if command is None:
            known = ", ".join(name for name, _ in scenarios_registry.available())
            raise ChaosError(f"{where}: run {i}: unknown scenario {scenario!r}; scenarios: {known}")
        options = {**defaults, **(run.get("options") or {})}
        given = {k.replace("-", "_") for k in options} & SET_BY_THE_SUITE
        if given:
            raise ChaosError(f"{where}: run {i} ({scenario}): {', '.join(sorted(given))} is set by the suite "
                             "(--out, --repeat of `chaos suite`)")
        slos = run.get("slo") or []
        if not isinstance(slos, list) or not all(isinstance(s, str) for s in slos):
            raise ChaosError(f"{where}: run {i} ({scenario}): slo is a list of checks, e.g. "
                             "[\"write_unavailable_seconds<=6\"]")
        args = to_args(options) + [a for s in slos for a in ("--slo", s)]
        try:
            ctx = command.make_context(scenario, list(args))
            config = config_from_options(command.config, ctx.params)
            config.validate()
            from chaos.slo import parse_slo

            plan = scenarios_registry.plan(scenario)
            for s in slos:
                parse_slo(s, plan.known)
        except click.UsageError as exc:
            raise ChaosError(f"{where}: run {i} ({scenario}): {exc.format_message()}") from None
        except ChaosError as exc:
            raise ChaosError(f"{where}: run {i} ({scenario}): {exc}") from None
        name = str(run.get("name") or scenario)
        while name in names:
            name += "+"
        names.add(name)
        out.append(Entry(name, scenario, args, slos, line))
    return out


def run_suite(which: str | None, repeat: int, out: str | None, resume: str | None, extra: list[str],
              state_dir: StateDir) -> int:
    """Run the suite (or finish the one in ``resume``); write the resilience report; 0 when
    every run passed, 1 otherwise, 130 when interrupted (the report then says it is incomplete).
    A run refused before any fault (exit 2: e.g. a partition on nodes that share one address)
    leaves out that fault's other runs, said in the report; the suite goes on (exit 2 when every
    fault was refused)."""
    from chaos import scenarios_registry
    from chaos.engine import Engine
    from chaos.options import config_from_options
    from chaos.runner import make_run_dir

    if resume:
        parent = Path(resume)
        try:
            recorded = json.loads((parent / SUITE_FILE).read_text())
        except (OSError, ValueError):
            raise ChaosError(f"--resume {resume}: no {SUITE_FILE} there; give the directory of a suite") from None
        data, source, repeat, extra = recorded["suite"], recorded["source"], recorded["repeat"], recorded["extra"]
    else:
        if not 1 <= repeat <= 100:
            raise ChaosError("--repeat must be between 1 and 100")
        data, source = load_suite(which or "redis")
    entries = entries_of(json.loads(json.dumps(data)), source)
    skipped: list[dict[str, str]] = []
    if extra:  # the options given after `--` reach every run, and are checked the same way
        for e in entries:
            e.args = e.args + list(extra)
        entries, skipped = check_extra(entries, skip_unfit=source.startswith("built-in"))
        for s in skipped:
            click.echo(f"suite: {s['name']} is left out: {s['why']}", err=True)
    if not resume:
        parent = make_run_dir(f"suite-{data.get('name') or 'suite'}", out)
        (parent / SUITE_FILE).write_text(json.dumps({"suite": data, "source": source, "repeat": repeat,
                                                     "extra": list(extra)}, indent=1) + "\n")
    plan_runs = [(e, k) for e in entries for k in range(repeat)]
    total = len(plan_runs)
    done_seconds: list[float] = []
    interrupted, codes = False, []
    refused: dict[str, str] = {}  # entry name → why its run was refused (its other runs are left out)
    for n, (e, k) in enumerate(plan_runs, 1):
        sub = parent / f"{entries.index(e) + 1:02d}-{e.name}-{k + 1:02d}"
        kept = finished(sub)
        if kept is not None:  # --resume: done before
            codes.append(0 if kept.get("passed") else 1)
            continue
        if e.name in refused:
            continue
        if sub.exists():  # an interrupted run: run again, its directory kept aside
            sub.rename(sub.with_name(sub.name + f".interrupted-{int(time.time())}"))
        left = total - n + 1
        eta = f"; about {_minutes(left * sum(done_seconds) / len(done_seconds))} left" if done_seconds else ""
        click.echo(f"== suite {data.get('name') or source}: run {n} of {total}: {e.name} ({k + 1} of {repeat}){eta} ==",
                   err=True)
        started = time.monotonic()
        try:
            command = scenarios_registry.command(e.scenario)
            ctx = command.make_context(e.scenario, list(e.args))
            config = replace(config_from_options(command.config, ctx.params), out=str(sub), repeat=1)
            if config.seed is not None:
                config = replace(config, seed=config.seed + k)
            code = Engine(scenarios_registry.plan(e.scenario), config, state_dir).run()
        except KeyboardInterrupt:
            code = 130
        except ChaosError as exc:  # the run refused (setup: exit 2) or crashed (exit 1): said, and recorded
            click.echo(f"chaos: error: {exc}", err=True)
            code = getattr(exc, "exit_code", 2)
            if code == 2:
                refused[e.name] = str(exc)
        done_seconds.append(time.monotonic() - started)
        codes.append(code)
        if code == 130:
            interrupted = True
            break
        if code == 2:  # refused before any fault: this fault's other runs would be refused the same way
            click.echo(f"suite: {e.name} was refused (exit 2); its other runs are left out, the suite goes on. "
                       f"Fix it and `chaos suite --resume {parent}` runs them", err=True)
    skipped = skipped + [{"name": name, "scenario": next(e.scenario for e in entries if e.name == name),
                          "why": f"refused: {why}"} for name, why in refused.items()]
    if refused and len(refused) == len(entries):
        interrupted = True  # nothing could run: the environment, not the system under test
    files = write_report(parent, data, source, entries, repeat, complete=not interrupted and not refused,
                         skipped=skipped)
    for f in files:
        click.echo(f"resilience report: {f}")
    if interrupted:
        ran = sum(1 for c in codes if c not in (2, 130))
        click.echo(f"suite incomplete: {ran} of {total} runs finished; finish it with `chaos suite --resume {parent}`")
        return 130 if codes and codes[-1] == 130 else 2
    click.echo(f"{sum(1 for c in codes if c == 0)} of {total} runs passed; runs in {parent}" +
               (f"; refused: {', '.join(refused)} (`chaos suite --resume {parent}` runs them once fixed)"
                if refused else ""))
    return 0 if codes and all(c == 0 for c in codes) else 1


def check_extra(entries: list[Entry], skip_unfit: bool = False) -> tuple[list[Entry], list[dict[str, str]]]:
    """Check each run again with the options every run gets appended. With ``skip_unfit`` (a
    built-in suite), a scenario that does not take one of those options is left out, with why
    (scale-out starts its own node: no ``--attach``), rather than the whole suite refused; a
    suite file named its runs, so there it is an error. Returns (the runs kept, those left out)."""
    from chaos import scenarios_registry
    from chaos.options import config_from_options

    kept, skipped = [], []
    for e in entries:
        command = scenarios_registry.command(e.scenario)
        try:
            ctx = command.make_context(e.scenario, list(e.args))
            config_from_options(command.config, ctx.params).validate()
        except click.NoSuchOption as exc:
            if not skip_unfit:
                raise ChaosError(f"the options after `--`, in run {e.name}: {e.scenario} does not take "
                                 f"{exc.option_name}; give it in the options of the [[run]] tables that take it") from None
            skipped.append({"name": e.name, "scenario": e.scenario,
                            "why": f"{e.scenario} does not take {exc.option_name}"})
            continue
        except click.UsageError as exc:
            raise ChaosError(f"the options after `--`, in run {e.name} ({e.scenario}): {exc.format_message()}") from None
        except ChaosError as exc:
            raise ChaosError(f"the options after `--`, in run {e.name} ({e.scenario}): {exc}") from None
        kept.append(e)
    if not kept:
        raise ChaosError("no run of the suite takes the options after `--`: " +
                         "; ".join(s["why"] for s in skipped))
    return kept, skipped


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def finished(run_dir: Path) -> dict[str, Any] | None:
    """A run's result when it finished: not an interrupted run, nor one that ended with an error
    before it measured anything (refused at setup: `--resume` runs those again)."""
    try:
        result = json.loads((run_dir / "result.json").read_text())
    except (OSError, ValueError):
        return None
    if result.get("interrupted") or (result.get("error") and not result.get("measurements")):
        return None
    return result


def finished_runs(parent: Path, entries: list[Entry], repeat: int) -> list[dict[str, Any]]:
    out = []
    for i, e in enumerate(entries, 1):
        runs = []
        for k in range(repeat):
            sub = parent / f"{i:02d}-{e.name}-{k + 1:02d}"
            result = finished(sub)
            if result is not None:
                runs.append({"dir": sub.name, "result": result})
        out.append({"name": e.name, "scenario": e.scenario, "planned": repeat, "runs": runs, "slos": e.slos})
    return out


def write_report(parent: Path, data: dict[str, Any], source: str, entries: list[Entry], repeat: int,
                 complete: bool, skipped: list[dict[str, str]] | None = None) -> list[Path]:
    from chaos.engine.report_writers import suite_report
    from chaos.resilience import scorecard
    from chaos.runner import write_json

    card = scorecard({"name": data.get("name"), "source": source}, finished_runs(parent, entries, repeat), complete,
                     skipped or [])
    write_json(parent / "resilience.json", card)
    writer = suite_report()
    return [parent / "resilience.json"] + (writer.write(parent, card) if writer is not None else [])
