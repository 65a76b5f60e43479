"""The run engine: a scenario is a :class:`Plan` (steps, then measurements and checks); the
engine runs it (Chaos Toolkit's shape: steady state → method → verify, rollbacks always run).

* Every step is named; the engine runs them in order on a :class:`RunContext`.
* A fault is an object (:class:`chaos.faults.Fault`): :meth:`RunContext.inject` records it in
  the history as the ``nemesis`` process and puts its heal on the cleanup stack the moment it
  is injected, so Ctrl-C, SIGTERM and a crash all heal it (Jepsen's nemesis protocol).
* Cleanups run last registered first, shielded from a second Ctrl-C, also after an error or an
  interrupt; a failed or interrupted run still leaves its history and a partial result.json that
  does not pass.
* Checks are named and composed: a measurement that raised is "unknown", and a run passes only
  if it finished, has at least one check, and every check passed.

Nothing here imports ``scenarios/`` or ``reports/``: scenarios and report writers are found
through entry points (``chaos.scenarios``, ``chaos.reports``)."""

from __future__ import annotations

import json
import os
import random
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from chaos.checkers.compose import Check, evaluate
from chaos.errors import ChaosError, RunCrashed
from chaos.history import HISTORY_FILE, INFO, INVOKE, OK, parse_json, records
from chaos.interrupts import deferred_interrupts
from chaos.metrics import FINAL_GAUGES, RunMetrics
from chaos.progress import Progress
from chaos.runner import Run, iso, make_run_dir, merge_run_history, write_json
from chaos.slo import Slo, parse_slo
from chaos.state import StateDir
from chaos.wait import wait_until

SCHEMA_VERSION = 3  # 2: checks carry "status" (pass / fail / unknown); measurement_errors
# 3: the history is history.jsonl.zst (zstd JSON lines); older runs' history.jsonl still reads
REPORTS_GROUP = "chaos.reports"


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

    BACKENDS = ("process",)  # where this scenario's servers can run

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
    checks: list[dict[str, Any]] = field(default_factory=list)
    fault: dict[str, Any] | None = None
    topology: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # what `chaos analyze` needs to recompute


# -- the plan --------------------------------------------------------------------------------------
# the final read, a batch of keys at a time: their values in order (None when absent)
ReadFinal = Callable[[list[str]], list[Any]]
# (run dir, context, final read, live measurements) → (measurements, checks)
Measure = Callable[[Path, dict[str, Any], ReadFinal, dict[str, Any]], tuple[dict[str, Any], list[Check]]]


@dataclass
class Plan:
    """A scenario as data: its steps, how to measure its files, and what it reports.

    ``known`` lists the measurement names an ``--slo`` may name; ``headline`` those the summary
    prints; ``final_read`` is the file the live final read is kept in (``chaos analyze`` reads it
    instead of the servers)."""

    name: str
    summary: str
    steps: list[Any]
    measure: Measure
    known: set[str]
    headline: list[str]
    final_read: str = "final-read.jsonl"


class Step:
    """One step of a plan; subclasses say what it does. ``name`` shows in errors."""

    name = "step"

    def run(self, ctx: RunContext) -> None:
        raise NotImplementedError


@dataclass
class Do(Step):
    """Run a function of the context (provision, choose a target, start load, ...)."""

    action: Callable[[RunContext], Any]

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.action.__name__

    def run(self, ctx: RunContext) -> None:
        self.action(ctx)


@dataclass
class Phase(Step):
    """Start a named phase of the run (latency is reported per phase)."""

    phase: str

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"phase {self.phase}"

    def run(self, ctx: RunContext) -> None:
        ctx.run.phase(self.phase)


@dataclass
class SleepUntil(Step):
    """Wait until the run clock reaches ``at(ctx)`` seconds (fails fast if the load died)."""

    at: Callable[[RunContext], float]
    name: str = "sleep"

    def run(self, ctx: RunContext) -> None:
        ctx.sleep_until(self.at(ctx))


@dataclass
class Inject(Step):
    """Build a fault from the context and inject it (``make`` may return None: skipped);
    ``then(ctx)`` runs right after the injection, before the run says it happened."""

    key: str
    make: Callable[[RunContext], Any]
    then: Callable[[RunContext], None] | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"inject {self.key}"

    def run(self, ctx: RunContext) -> None:
        fault = self.make(ctx)
        if fault is not None:
            ctx.inject(fault, self.key)
            if self.then is not None:
                self.then(ctx)
            ctx.say(fault.describe())


@dataclass
class Heal(Step):
    """Heal the fault injected under ``key`` (nothing if it was never injected)."""

    key: str

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"heal {self.key}"

    def run(self, ctx: RunContext) -> None:
        ctx.heal(self.key)


@dataclass
class WaitUntil(Step):
    """Poll ``condition(ctx)`` until it returns something truthy or ``timeout(ctx)`` passes;
    the result (or None) goes to ``ctx.vars[key]`` and ``report(ctx, result)`` says it."""

    key: str
    condition: Callable[[RunContext], Any]
    timeout: Callable[[RunContext], float]
    report: Callable[[RunContext, Any], None] | None = None
    when: Callable[[RunContext], bool] | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"wait for {self.key}"

    def run(self, ctx: RunContext) -> None:
        if self.when is not None and not self.when(ctx):
            ctx.vars[self.key] = None
            return
        ctx.vars[self.key] = ctx.wait_until(lambda: self.condition(ctx), self.timeout(ctx))
        if self.report is not None:
            self.report(ctx, ctx.vars[self.key])


# -- the run -----------------------------------------------------------------------------------
class RunContext:
    """What steps see and share: the run (directory, clock, bus, nemesis history), the config,
    the state directory, a seeded random source, ``vars`` that steps hand to each other, the
    faults injected, and the cleanup stack."""

    def __init__(self, plan: Plan, config: RunConfig, state: StateDir):
        config.validate()
        self.plan, self.config, self.state = plan, config, state
        self.slos = [parse_slo(t, plan.known) for t in config.slo]
        self.seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
        self.rng = random.Random(self.seed)
        self.run = Run(plan.name, make_run_dir(plan.name, config.out))
        self.started_wall = time.time()
        self.progress = Progress().attach(self.run.bus)
        self.metrics = RunMetrics(plan.name, self.run.run_id).attach(self.run.bus)
        if config.metrics_port is not None:
            self.metrics.serve(config.metrics_port)
            self.say(f"metrics on http://127.0.0.1:{config.metrics_port}/metrics")
        self.outcome = Outcome()
        self.vars: dict[str, Any] = {}
        self.faults: dict[str, Any] = {}
        self.load: Any = None  # the LoadController, once started (sleep_until watches it)
        self.interrupted = False
        self._cleanups: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    # -- conveniences ---------------------------------------------------------------------
    def say(self, message: str) -> None:
        self.run.say(message)

    def elapsed(self, at: float | None = None) -> float:
        return self.run.elapsed(at)

    def cleanup(self, action: Callable[..., Any], *args: Any) -> None:
        """Run ``action(*args)`` when the run ends, whatever happens (last registered first)."""
        self._cleanups.append((action, args))

    def teardown(self, topology: Any, what: str) -> None:
        """Stop a topology this run started, unless --keep."""
        if self.config.keep:
            self.say(f"{what} kept (--keep); stop it with `chaos down`")
        else:
            topology.down()

    def sleep_until(self, elapsed: float) -> None:
        """Sleep until the run's clock reaches ``elapsed``; fail fast if the load process died."""
        load = self.load
        while self.elapsed() < elapsed:
            if load is not None and not load.running():
                load.wait(1)
                raise ChaosError(f"the load process ended early; see {load.log_path}")
            time.sleep(min(0.05, max(0.0, elapsed - self.elapsed())))

    def wait_until(self, condition: Callable[[], Any], timeout: float, poll: float = 0.002) -> Any:
        """``condition()`` until truthy (returned) or None after ``timeout`` seconds. An exception
        in the condition is the harness's bug: it propagates (and the run fails)."""
        return wait_until(condition, timeout, poll)

    # -- faults ---------------------------------------------------------------------------
    def inject(self, fault: Any, key: str | None = None) -> float:
        """Inject ``fault``: nemesis invoke, heal put on the cleanup stack, the action, then
        ``ok`` (or ``info`` with the error, which then propagates). Returns the run time of the
        invoke, which is the fault's time."""
        key = key or fault.name
        self.faults[key] = fault
        self.cleanup(self._heal_quietly, key)
        at = self.run.fault(INVOKE, fault.name, fault.target)
        try:
            fault.inject()
        except BaseException as exc:
            self.run.fault(INFO, fault.name, fault.target, error=f"{type(exc).__name__}: {exc}")
            raise
        self.run.fault(OK, fault.name, fault.target)
        self.run.bus.fire("fault", fault=fault.name, active=True)
        self.vars[f"{key}_t"] = self.elapsed(at)
        return self.elapsed(at)

    def heal(self, key: str) -> float | None:
        """Heal the fault injected under ``key``; recorded as the nemesis' ``heal_name``.
        Idempotent: a second heal (e.g. the cleanup after an explicit heal) records nothing."""
        fault = self.faults.get(key)
        if fault is None or getattr(fault, "healed", False):
            return None
        at = self.run.fault(INVOKE, fault.heal_name, fault.target)
        try:
            fault.heal()
        except BaseException as exc:
            self.run.fault(INFO, fault.heal_name, fault.target, error=f"{type(exc).__name__}: {exc}")
            raise
        done = self.run.fault(OK, fault.heal_name, fault.target)
        fault.healed = True
        self.vars[f"{key}_heal_started_t"] = self.elapsed(at)
        self.run.bus.fire("fault", fault=fault.name, active=False)
        self.vars[f"{key}_healed_t"] = self.elapsed(done)
        self.say(fault.describe_heal())
        return self.elapsed(done)

    def _heal_quietly(self, key: str) -> None:
        self.heal(key)


class Engine:
    """Runs a plan: steps, then measure, then result files; cleanups always."""

    def __init__(self, plan: Plan, config: RunConfig, state: StateDir):
        self.plan = plan
        self.ctx = RunContext(plan, config, state)

    def run(self) -> int:
        ctx = self.ctx
        step: Step | None = None
        try:
            for step in self.plan.steps:
                step.run(ctx)
        except KeyboardInterrupt:
            ctx.interrupted = True
            ctx.say("interrupted: healing faults and cleaning up")
            self._wind_down()
            raise
        except ChaosError as exc:
            ctx.outcome.error = str(exc)
            self._wind_down()
            raise
        except Exception as exc:
            ctx.outcome.error = f"{type(exc).__name__}: {exc}"
            (ctx.run.dir / "error.txt").write_text(traceback.format_exc())
            self._wind_down()
            where = f" in step {step.name!r}" if step is not None else ""
            raise RunCrashed(f"the run crashed{where} ({type(exc).__name__}: {exc}); faults were healed and everything "
                             f"it started stopped; traceback in {ctx.run.dir / 'error.txt'}") from None
        result = self._wind_down()
        click.echo(summary_table(result, self.plan.headline))
        click.echo(f"run directory: {ctx.run.dir}")
        return 0 if result["passed"] else 1

    def _wind_down(self) -> dict[str, Any]:
        """Cleanups (last registered first), then the result files, both shielded from Ctrl-C and
        SIGTERM. A signal that came meanwhile marks the run interrupted and is raised again once
        the files are written."""
        ctx = self.ctx
        pending = False
        try:
            with deferred_interrupts():
                self._cleanup()
        except KeyboardInterrupt:
            pending = ctx.interrupted = True
        try:
            with deferred_interrupts():
                result = finish(ctx, ctx.slos)
        except KeyboardInterrupt:
            pending = True
        if pending:
            raise KeyboardInterrupt
        return result

    def _cleanup(self) -> None:
        ctx = self.ctx
        ctx.progress.close()
        while ctx._cleanups:
            action, args = ctx._cleanups.pop()
            try:
                action(*args)
            except Exception as problem:  # one failed cleanup must not skip the others
                ctx.outcome.error = ctx.outcome.error or f"cleanup failed: {problem}"
                ctx.say(f"cleanup step {getattr(action, '__name__', action)} failed: {problem}")
        if not (ctx.run.dir / HISTORY_FILE).exists():
            merge_run_history(ctx.run)  # the partial history of an interrupted or failed run


def measure_live(ctx: RunContext, read_final: ReadFinal, live: dict[str, Any]) -> None:
    """The measuring step of every plan: merge the history, then the plan's measure over the
    run's files with the live final read (kept on disk, batch by batch, for `chaos analyze`)."""
    merge_run_history(ctx.run)
    try:
        with FinalReadLog(ctx.run.dir / ctx.plan.final_read, read_final) as read_and_keep:
            measurements, checks = ctx.plan.measure(ctx.run.dir, ctx.outcome.context, read_and_keep, live)
    finally:
        getattr(read_final, "close", lambda: None)()
    ctx.outcome.measurements = measurements
    ctx.vars["checks"] = checks


# -- verdicts and files --------------------------------------------------------------------------
def judge(checks: list[Check], slos: list[Slo], measurements: dict[str, Any], finished: bool,
          ) -> tuple[list[dict[str, Any]], bool]:
    """Built-in checks (an SLO on the measurement a built-in check judges replaces it), then the
    SLOs; passed only if the run finished, there is a check, and every check passed."""
    replaced = {slo.name for slo in slos}
    kept = [c for c in checks if c.measurement not in replaced]
    results = evaluate(kept, measurements) + [slo.check(measurements) for slo in slos]
    passed = finished and bool(results) and all(r["status"] == "pass" for r in results)
    return results, passed


def finish(ctx: RunContext, slos: list[Slo]) -> dict[str, Any]:
    """Checks + SLOs → result.json, the reports, metrics.prom (and push). Returns the result."""
    outcome = ctx.outcome
    finished = not ctx.interrupted and outcome.error is None
    # a run that did not finish has no verdict to give: no checks, and it does not pass
    checks, passed = judge(ctx.vars.get("checks", []) if finished else [], slos if finished else [],
                           outcome.measurements, finished)
    result = {
        "schema_version": SCHEMA_VERSION,
        "scenario": ctx.plan.name,
        "run_id": ctx.run.run_id,
        "backend": ctx.config.backend,
        "seed": ctx.seed,
        "started_at": iso(ctx.started_wall),
        "finished_at": iso(time.time()),
        "interrupted": ctx.interrupted,
        "passed": passed,
        "config": asdict(ctx.config),
        "topology": outcome.topology,
        "fault": outcome.fault,
        "faults": [{"key": k, "kind": f.name, "target": f.target, "injected_at": ctx.vars.get(f"{k}_t"),
                    "healed_at": ctx.vars.get(f"{k}_healed_t")} for k, f in ctx.faults.items()],
        "measurements": outcome.measurements,
        "checks": checks,
        "context": outcome.context,
        "per_second": per_second(ctx.run.dir / "load-seconds.jsonl"),
        "headline": ctx.plan.headline,
    }
    if outcome.error:
        result["error"] = outcome.error
    write_json(ctx.run.dir / "result.json", result)
    write_reports(ctx.run.dir, result)
    ctx.metrics.set_final(outcome.measurements, passed)
    ctx.metrics.write(ctx.run.dir / "metrics.prom")
    if ctx.config.pushgateway:
        problem = ctx.metrics.push(ctx.config.pushgateway)
        if problem:
            ctx.say(f"warning: {problem}")
    ctx.metrics.stop()
    return result


def report_writers() -> dict[str, Any]:
    """Report writers found through the ``chaos.reports`` entry points, in their ``ORDER``: name →
    module with ``write(run_dir, result)`` (e.g. the charts), or ``FILENAME`` and
    ``render(result, run_dir) -> str`` (a report format)."""
    found = {ep.name: ep.load() for ep in entry_points(group=REPORTS_GROUP)}
    return dict(sorted(found.items(), key=lambda kv: getattr(kv[1], "ORDER", 10)))


def run_plan(plan: Plan, config: RunConfig, state: StateDir) -> int:
    """Run a plan once, or ``--repeat N`` times into one parent directory, or ``--matrix`` N
    times per server, then compare the runs (the ``compare`` report module; a matrix is grouped
    by server, the first one the baseline). The exit code is 0 only if every run passed."""
    servers = matrix_servers(config, state)
    if config.repeat <= 1 and not servers:
        return Engine(plan, config, state).run()
    name = f"{plan.name}-matrix" if servers else f"{plan.name}-x{config.repeat}"
    parent = make_run_dir(name, config.out)
    runs = [(server, i) for server in (servers or [None]) for i in range(config.repeat)]
    codes, dirs = [], []
    for n, (server, i) in enumerate(runs):
        seed = None if config.seed is None else config.seed + i
        sub = f"{server.replace(':', '-')}-{i + 1:02d}" if server else f"run-{i + 1:02d}"
        extra = {"server": server} if server else {}
        one = replace(config, out=str(parent / sub), repeat=1, seed=seed, matrix=None, **extra)
        click.echo(f"== {plan.name} run {n + 1} of {len(runs)}" + (f" ({server})" if server else "") + " ==",
                   err=True)
        codes.append(Engine(plan, one, state).run())
        dirs.append(parent / sub)
    compare = report_writers().get("compare")
    if compare is not None:
        table, _ = compare.compare_dirs(dirs, parent / "compare.html", group_by="server" if servers else None,
                                        baseline=f"server={servers[0]}" if servers else None)
        click.echo(table)
        click.echo(f"comparison: {parent / 'compare.html'}")
    click.echo(f"{sum(1 for c in codes if c == 0)} of {len(codes)} runs passed; runs in {parent}")
    return 0 if all(c == 0 for c in codes) else 1


def matrix_servers(config: RunConfig, state: StateDir) -> list[str]:
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
    backend = make_backend(config.backend, state.path)
    for text in servers:
        replace(config, server=text, matrix=None, repeat=1).validate()  # a server of the scenario's kind
        backend.require(server_kind(text), parse_server(text, server_kind(text)))
    return servers


def write_reports(run_dir: Path, result: dict[str, Any]) -> None:
    """Every report of the run; one that fails is a warning, never the run's failure (side output)."""
    for name, writer in report_writers().items():
        if not hasattr(writer, "write") and not hasattr(writer, "FILENAME"):
            continue  # not a per-run report (e.g. the comparison of runs)
        try:
            if hasattr(writer, "write"):
                writer.write(run_dir, result)
            else:
                (run_dir / writer.FILENAME).write_text(writer.render(result, run_dir))
        except Exception as exc:
            click.echo(f"chaos: warning: the {name} report could not be written ({type(exc).__name__}: {exc})",
                       err=True)


def report_formats() -> list[str]:
    return ["json", *(name for name, w in report_writers().items() if hasattr(w, "FILENAME"))]


def report_text(run_dir: Path, fmt: str = "md") -> str:
    """A run's report rendered again from its result.json (`chaos report RUN_DIR`)."""
    result = read_result(run_dir)
    if fmt == "json":
        return json.dumps(result, indent=2, default=str)
    writers = {n: w for n, w in report_writers().items() if hasattr(w, "FILENAME")}
    if fmt not in writers:
        raise ChaosError(f"no report format {fmt!r}; formats: {', '.join(report_formats())}")
    return writers[fmt].render(result, run_dir)


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
        lines.append(f"  {c['name']:<{width}}{c['status'].upper():<8}({shown})")
    verdict = "interrupted" if result["interrupted"] else ("PASSED" if result["passed"] else "FAILED")
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)


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


class FinalReadLog:
    """Wraps a live final read so every batch is also appended to ``path``, one ``[key, value]``
    per line in the order it was read, so a verdict can be recomputed later (`chaos analyze`).
    If a read fails, the file is removed: a partial read would make `chaos analyze` count the
    keys never read as lost, where the live verdict said it could not tell."""

    def __init__(self, path: Path, read: ReadFinal):
        self.path, self.read = path, read
        self.failed = False

    def __enter__(self) -> FinalReadLog:
        self._out = open(self.path, "w")
        return self

    def __exit__(self, *exc: object) -> None:
        self._out.close()
        if self.failed:
            self.path.unlink(missing_ok=True)

    def __call__(self, keys: list[str]) -> list[Any]:
        try:
            values = self.read(keys)
        except BaseException:
            self.failed = True
            raise
        write = self._out.write
        for key, value in zip(keys, values):
            write(json.dumps([key, value], separators=(",", ":")) + "\n")
        return values


class StoredFinalRead:
    """A kept final read (see :class:`FinalReadLog`) served back batch by batch. Analysed again,
    a run asks for its keys in the order it did live, so the file is read in step with the asks
    (memory stays flat); if the keys differ (a run kept by an older version, or a changed
    analysis), the whole file is loaded and looked up instead."""

    def __init__(self, path: Path):
        if not path.exists():
            raise ChaosError(f"{path} is missing: only a finished run can be analyzed again")
        self.path = path
        self._lines: Any = open(path)
        self._all: dict[str, Any] | None = None

    def __enter__(self) -> StoredFinalRead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lines is not None:
            self._lines.close()

    def __call__(self, keys: list[str]) -> list[Any]:
        if self._all is None:
            values = []
            for key in keys:
                line = self._lines.readline()
                stored = parse_json(line) if line.endswith("\n") else None
                if stored is None or stored[0] != key:
                    break
                values.append(stored[1])
            else:
                return values
            self._lines.close()
            self._lines = None
            self._all = dict(iter_final_read(self.path))
        return [self._all.get(k) for k in keys]


def iter_final_read(path: Path) -> Iterator[list[Any]]:
    """[key, value] pairs of a kept final read, streamed."""
    yield from records(path)


class Timeline:
    """A run's timeline, read from disk each time it is iterated (probe samples, log events,
    steps), so checkers stream it in constant memory however long the run was: a 10-minute run
    holds ~360 000 samples, over a gigabyte as dicts. Within one node, probe samples are in time
    order (one probe thread per node, one writer draining a FIFO queue); across nodes only
    roughly so."""

    def __init__(self, path: Path):
        self.path = path

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return records(self.path)


def read_timeline(path: Path) -> Timeline:
    if not path.exists():
        raise FileNotFoundError(path)
    return Timeline(path)


def read_result(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "result.json").read_text())
    except FileNotFoundError:
        raise ChaosError(f"{run_dir} has no result.json; give the directory of a run") from None
    except ValueError as exc:
        raise ChaosError(f"{run_dir / 'result.json'} is not valid JSON ({exc})") from None


def reanalyze(plan: Plan, run_dir: Path, slo_texts: list[str]) -> int:
    """`chaos analyze RUN_DIR`: recompute measurements and checks from a finished run's files
    (history, timeline, final read; what was measured live is kept), with the run's own SLOs or
    new ones; rewrite result.json, the reports and metrics.prom."""
    result = read_result(run_dir)
    if result.get("interrupted") or result.get("error") or not result.get("context"):
        raise ChaosError(f"{run_dir} holds a run that did not finish; there is no complete history to analyze")
    slos = [parse_slo(t, plan.known) for t in (slo_texts or result["config"].get("slo", []))]
    with StoredFinalRead(run_dir / plan.final_read) as stored:
        measurements, checks = plan.measure(run_dir, result["context"], stored, result["measurements"])
    results, passed = judge(checks, slos, measurements, True)
    result.update(measurements=measurements, checks=results, passed=passed, reanalyzed_at=iso(time.time()))
    result["config"]["slo"] = [str(slo) for slo in slos]
    write_json(run_dir / "result.json", result)
    write_reports(run_dir, result)
    update_final_metrics(run_dir / "metrics.prom", measurements, passed)
    click.echo(summary_table(result, plan.headline))
    return 0 if passed else 1


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


def copy_node_files(specs: list[Any], run: Run, names: tuple[str, ...]) -> None:
    """Each node's log and config into ``<run>/nodes/<name>/``."""
    for spec in specs:
        dest = run.dir / "nodes" / spec.name
        dest.mkdir(parents=True, exist_ok=True)
        for name in (spec.log_file, *names):
            src = spec.dir / name
            if src.exists():
                (dest / name).write_bytes(src.read_bytes())
