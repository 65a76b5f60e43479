"""What every scenario shares: the run skeleton (steady state → method → verify, with healing
and teardown always run), SLO checks and the output files."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from chaos.backends.base import NodeSpec
from chaos.errors import ChaosError
from chaos.interrupts import deferred_interrupts
from chaos.metrics import FINAL_GAUGES, RunMetrics
from chaos.progress import Progress
from chaos.runner import Run, iso, make_run_dir, merge_run_history, write_json
from chaos.slo import Slo, parse_slo
from reports import SCHEMA_VERSION
from reports.markdown import render


@dataclass
class RunConfig:
    """Settings every scenario run has; a scenario's config extends it."""

    backend: str = "process"
    duration: float = 30.0
    warmup: float = 5.0
    users: int = 20
    rate: float | None = None
    seed: int | None = None
    workers: int = 1
    out: str | None = None
    keep: bool = False
    metrics_port: int | None = None
    pushgateway: str | None = None
    slo: list[str] = field(default_factory=list)

    BACKENDS = ("process",)  # where this scenario's servers can run

    def validate(self) -> None:
        if self.backend not in self.BACKENDS:
            raise ChaosError(f"backend {self.backend!r} is not available for this scenario; use "
                             + " or ".join(f"--backend {b}" for b in self.BACKENDS))
        if self.duration <= 0 or self.warmup < 0 or self.users < 1 or (self.rate is not None and self.rate < 0):
            raise ChaosError("--duration must be positive, --warmup and --rate not negative, --users at least 1")
        if not 1 <= self.workers <= self.users:
            raise ChaosError(f"--workers must be between 1 and --users ({self.users}), got {self.workers}")

    def load_options(self) -> dict[str, Any]:
        """How the load runs: rate (0 = unpaced) and load processes."""
        return {"rate": self.rate or None, "workers": self.workers}


def run_options(users: int, rate: float | None, rate_help: str, what: str,
                backends: tuple[str, ...] = ("process",)) -> Callable[[Callable], Callable]:
    """The Click options of every scenario (those of :class:`RunConfig`)."""
    options = [
        click.option("--backend", default="process", show_default=True, type=click.Choice(list(backends)),
                     help="Where servers run: local processes" + (", or Docker containers on the host network "
                                                                  "(image from `chaos images build`)"
                                                                  if "docker" in backends else "") + "."),
        click.option("--duration", default=30.0, show_default=True, help="Seconds of load at least."),
        click.option("--warmup", default=5.0, show_default=True, help="Seconds of load before the fault."),
        click.option("--users", default=users, show_default=True, help="Concurrent load users (one connection each)."),
        click.option("--rate", type=float, default=rate, show_default=rate is not None, help=rate_help),
        click.option("--workers", default=1, show_default=True,
                     help="Load processes (Locust master/worker mode when more than 1)."),
        click.option("--seed", type=int, default=None,
                     help="Seed of the choices and the op mix (default: random, recorded in result.json)."),
        click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory."),
        click.option("--keep", is_flag=True, help=f"Leave {what} this run started running."),
        click.option("--metrics-port", type=int, default=None, help="Serve Prometheus /metrics on 127.0.0.1:PORT."),
        click.option("--pushgateway", default=None, help="Push final metrics to this Pushgateway URL."),
        click.option("--slo", multiple=True, help="A check on a measurement, e.g. 'NAME<=10' (repeatable)."),
    ]

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@dataclass
class Outcome:
    """What a scenario hands back to the skeleton: the result fields it measured."""

    measurements: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    fault: dict[str, Any] | None = None
    topology: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # what `chaos analyze` needs to recompute


def resolve_seed(seed: int | None) -> int:
    return seed if seed is not None else random.SystemRandom().randrange(2**31)


def parse_slos(texts: tuple[str, ...] | list[str], known: set[str]) -> list[Slo]:
    return [parse_slo(t, known) for t in texts]


def check(name: str, passed: bool, value: Any, threshold: str | None = None) -> dict[str, Any]:
    return {"name": name, "passed": bool(passed), "value": value, "threshold": threshold}


def finish(run: Run, config: Any, outcome: Outcome, slos: list[Slo], metrics: RunMetrics,
           started_wall: float, interrupted: bool, pushgateway: str | None, backend: str, seed: int) -> dict[str, Any]:
    """Checks, result.json, report.md, metrics.prom (and push). Returns the result."""
    checks = outcome.checks + [slo.check(outcome.measurements) for slo in slos]
    passed = not interrupted and outcome.error is None and all(c["passed"] for c in checks)
    config_dict = asdict(config) if hasattr(config, "__dataclass_fields__") else dict(config)
    result = {
        "schema_version": SCHEMA_VERSION,
        "scenario": run.scenario,
        "run_id": run.run_id,
        "backend": backend,
        "seed": seed,
        "started_at": iso(started_wall),
        "finished_at": iso(time.time()),
        "interrupted": interrupted,
        "passed": passed,
        "config": config_dict,
        "topology": outcome.topology,
        "fault": outcome.fault,
        "measurements": outcome.measurements,
        "checks": checks,
        "context": outcome.context,
        "per_second": per_second(run.dir / "load-seconds.jsonl"),
    }
    if outcome.error:
        result["error"] = outcome.error
    write_json(run.dir / "result.json", result)
    (run.dir / "report.md").write_text(render(result))
    metrics.set_final(outcome.measurements, passed)
    metrics.write(run.dir / "metrics.prom")
    if pushgateway:
        problem = metrics.push(pushgateway)
        if problem:
            run.say(f"warning: {problem}")
    return result


def summary_table(result: dict[str, Any], keys: list[str]) -> str:
    m = result["measurements"]
    width = max(len(k) for k in keys + [c["name"] for c in result["checks"]]) + 2
    lines = ["measurements:"]
    for k in keys:
        v = m.get(k)
        lines.append(f"  {k:<{width}}{'-' if v is None else (f'{v:.3f}' if isinstance(v, float) else v)}")
    lines.append("checks:")
    for c in result["checks"]:
        v = c.get("value")
        shown = f"{v:.3f}" if isinstance(v, float) else v
        lines.append(f"  {c['name']:<{width}}{'PASS' if c['passed'] else 'FAIL'}  ({shown})")
    verdict = "interrupted" if result["interrupted"] else ("PASSED" if result["passed"] else "FAILED")
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)


def sleep_until(run: Run, elapsed: float, load: Any) -> None:
    """Sleep until the run's clock reaches ``elapsed``; fail fast if the load process died."""
    while run.elapsed() < elapsed:
        if load is not None and not load.running():
            load.wait(1)
            raise ChaosError(f"the load process ended early; see {load.log_path}")
        time.sleep(min(0.05, max(0.0, elapsed - run.elapsed())))


def per_second(path: Path) -> list[list[Any]]:
    """The client's view, one row per second: [t, ok, fail, info, p50 ms, p99 ms]."""
    rows = []
    try:
        with open(path) as lines:
            for line in lines:
                d = json.loads(line)
                rows.append([d["t"], d["ok"], d["fail"], d["info"], d.get("p50"), d.get("p99")])
    except (FileNotFoundError, ValueError):
        pass
    return rows


def save_final_read(path: Path, final: dict[str, Any]) -> None:
    """The final read, one ``[key, value]`` per line, so a verdict can be recomputed later."""
    with open(path, "w") as out:
        for key, value in final.items():
            out.write(json.dumps([key, value], separators=(",", ":")) + "\n")


def load_final_read(path: Path) -> dict[str, Any]:
    try:
        with open(path) as lines:
            return dict(json.loads(line) for line in lines)
    except FileNotFoundError:
        raise ChaosError(f"{path} is missing: only a finished run can be analyzed again") from None


def read_timeline(path: Path) -> list[dict[str, Any]]:
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.endswith("\n")]


def copy_node_files(specs: list[NodeSpec], run: Run, names: tuple[str, ...]) -> None:
    """Each node's log and config into ``<run>/nodes/<name>/``."""
    for spec in specs:
        dest = run.dir / "nodes" / spec.name
        dest.mkdir(parents=True, exist_ok=True)
        for name in (spec.log_file, *names):
            src = spec.dir / name
            if src.exists():
                (dest / name).write_bytes(src.read_bytes())


def attach_outputs(run: Run, metrics_port: int | None) -> tuple[Progress, RunMetrics]:
    progress = Progress().attach(run.bus)
    metrics = RunMetrics(run.scenario, run.run_id).attach(run.bus)
    if metrics_port is not None:
        metrics.serve(metrics_port)
        run.say(f"metrics on http://127.0.0.1:{metrics_port}/metrics")
    return progress, metrics


class ScenarioRun:
    """The run skeleton (Chaos Toolkit's shape): whatever the scenario registers with
    :meth:`cleanup` (stop load, stop probes, heal faults, copy logs, tear down) runs when the
    block ends, last registered first, shielded from a second Ctrl-C, also after an error or an
    interrupt; a failed or interrupted run still leaves its history and a partial result.json.
    The exception then goes on to the CLI (exit 2, or 130)."""

    def __init__(self, name: str, config: RunConfig, known: set[str]):
        config.validate()
        self.config = config
        self.slos = parse_slos(config.slo, known)
        self.seed = resolve_seed(config.seed)
        self.run = Run(name, make_run_dir(name, config.out))
        self.started_wall = time.time()
        self.progress, self.metrics = attach_outputs(self.run, config.metrics_port)
        self.outcome = Outcome()
        self.interrupted = False
        self._cleanups: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def cleanup(self, action: Callable[..., Any], *args: Any) -> None:
        self._cleanups.append((action, args))

    def teardown(self, topology: Any, what: str) -> None:
        """Stop a topology this run started, unless --keep."""
        if self.config.keep:
            self.run.say(f"{what} kept (--keep); stop it with `chaos down`")
        else:
            topology.down()

    def __enter__(self) -> ScenarioRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc_type is KeyboardInterrupt:
            self.interrupted = True
            self.run.say("interrupted: healing faults and cleaning up")
        elif isinstance(exc, ChaosError):
            self.outcome.error = str(exc)
        with deferred_interrupts():
            self.progress.close()
            for action, args in reversed(self._cleanups):
                try:
                    action(*args)
                except Exception as problem:  # one failed cleanup must not skip the others
                    self.outcome.error = self.outcome.error or str(problem)
                    self.run.say(f"cleanup step {getattr(action, '__name__', action)} failed: {problem}")
            if not (self.run.dir / "history.jsonl").exists():
                merge_run_history(self.run)  # the partial history of an interrupted or failed run
            if exc is not None:
                finish(self.run, self.config, self.outcome, [], self.metrics, self.started_wall, self.interrupted,
                       self.config.pushgateway, self.config.backend, self.seed)
            self.metrics.stop()
        return False

    def conclude(self, headline: list[str]) -> int:
        """Checks + SLOs → result.json, report.md, metrics; the summary table; the exit code."""
        result = finish(self.run, self.config, self.outcome, self.slos, self.metrics, self.started_wall, False,
                        self.config.pushgateway, self.config.backend, self.seed)
        click.echo(summary_table(result, headline))
        click.echo(f"run directory: {self.run.dir}")
        return 0 if result["passed"] else 1


def reanalyze(run_dir: Path, slo_texts: list[str], known: set[str], headline: list[str],
              analyze: Callable[[Path, dict[str, Any]], tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    """`chaos analyze RUN_DIR`: recompute measurements and checks from a finished run's files
    (history, timeline, final read; what was measured live is kept), with the run's own SLOs or
    new ones; rewrite result.json, report.md and metrics.prom."""
    result = read_result(run_dir)
    if result.get("interrupted") or result.get("error") or not result.get("context"):
        raise ChaosError(f"{run_dir} holds a run that did not finish; there is no complete history to analyze")
    slos = parse_slos(slo_texts or result["config"].get("slo", []), known)
    measurements, checks = analyze(run_dir, result)
    checks += [slo.check(measurements) for slo in slos]
    result.update(measurements=measurements, checks=checks, passed=all(c["passed"] for c in checks),
                  reanalyzed_at=iso(time.time()))
    result["config"]["slo"] = [str(slo) for slo in slos]
    write_json(run_dir / "result.json", result)
    (run_dir / "report.md").write_text(render(result))
    update_final_metrics(run_dir / "metrics.prom", measurements, result["passed"])
    click.echo(summary_table(result, headline))
    return 0 if result["passed"] else 1


def update_final_metrics(path: Path, measurements: dict[str, Any], passed: bool) -> None:
    """Put recomputed final values into metrics.prom, keeping the live series the run wrote."""
    fresh = RunMetrics("x", "y")
    fresh.set_final(measurements, passed)
    finals = {f"chaos_{name}" for name in FINAL_GAUGES} | {"chaos_run_passed"}
    values = {sample.name: sample.value for family in fresh.registry.collect() for sample in family.samples
              if sample.name in finals}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    out = []
    for line in lines:
        name = line.split("{", 1)[0]
        if not line.startswith("#") and name in values and "{" in line:
            line = f"{line.rsplit(' ', 1)[0]} {float(values[name])!r}"
        out.append(line)
    path.write_text("\n".join(out) + "\n")


def read_result(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "result.json").read_text())
    except FileNotFoundError:
        raise ChaosError(f"{run_dir} has no result.json; give the directory of a run") from None
    except ValueError as exc:
        raise ChaosError(f"{run_dir / 'result.json'} is not valid JSON ({exc})") from None


def report_text(run_dir: Path) -> str:
    """report.md rendered again from result.json (`chaos report RUN_DIR`)."""
    return render(read_result(run_dir))
