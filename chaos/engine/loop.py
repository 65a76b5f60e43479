"""The engine's loop: a plan's steps in order on a :class:`RunContext`, then the result files;
the cleanups always (Chaos Toolkit's rollbacks), also after an error or an interrupt.

* A fault's heal goes on the cleanup stack the moment it is injected
  (:meth:`RunContext.inject`), so Ctrl-C, SIGTERM and a crash all heal it.
* Cleanups run last registered first, shielded from a second Ctrl-C; a failed or interrupted
  run still leaves its history and a partial result.json that does not pass.
* The plan is checked (:func:`check_plan`) before the run directory or anything else exists."""

from __future__ import annotations

import time
import traceback
from typing import Any

import click

from chaos.engine.config import RunConfig
from chaos.engine.context import RunContext
from chaos.engine.rundir import FinalReadLog, ReadFinal, pack
from chaos.engine.steps import Plan, Step, check_plan
from chaos.engine.verdict import finish, summary_table
from chaos.errors import ChaosError, RunCrashed
from chaos.history import HISTORY_FILE
from chaos.interrupts import deferred_interrupts
from chaos.runner import merge_run_history
from chaos.state import StateDir


class Engine:
    """Runs a plan: steps, then measure, then result files; cleanups always."""

    def __init__(self, plan: Plan, config: RunConfig, state_dir: StateDir):
        check_plan(plan)  # a broken plan is refused before anything starts
        self.plan = plan
        self.ctx: RunContext[Any, Any] = RunContext(plan, config, state_dir)

    def run(self) -> int:
        try:
            code = self._run()
            self._linger()
            return code
        finally:
            self.ctx.metrics.stop()

    def _linger(self) -> None:
        """--metrics-port: keep /metrics up --metrics-linger seconds after the verdict, so the
        last scrape sees it (Ctrl-C ends it early, quietly)."""
        ctx = self.ctx
        if ctx.config.metrics_port is None or ctx.config.metrics_linger <= 0:
            return
        click.echo(f"serving the final metrics on http://127.0.0.1:{ctx.config.metrics_port}/metrics for "
                   f"{ctx.config.metrics_linger:g} s more (--metrics-linger; Ctrl-C to stop now)", err=True)
        try:
            time.sleep(ctx.config.metrics_linger)
        except KeyboardInterrupt:
            pass

    def _run(self) -> int:
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
        """Cleanups (last registered first), then the result files (and the growing ones
        compressed), both shielded from Ctrl-C and SIGTERM. A signal that came meanwhile marks
        the run interrupted and is raised again once the files are written."""
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
                try:
                    pack(ctx.run.dir)
                except OSError as exc:  # the plain files are kept whole: readers take them as they are
                    ctx.say(f"warning: the run's files were not compressed ({exc})")
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


def measure_live(ctx: RunContext[Any, Any], read_final: ReadFinal, live: dict[str, Any]) -> None:
    """The measuring step of every plan: the measure context from the run state, merge the
    history, then the plan's measure over the run's files with the live final read (kept on
    disk, batch by batch, for `chaos analyze`)."""
    if ctx.plan.context_of is not None:
        ctx.outcome.context = ctx.plan.context_of(ctx)
    merge_run_history(ctx.run)
    try:
        with FinalReadLog(ctx.run.dir / ctx.plan.final_read, read_final) as read_and_keep:
            measurements, checks = ctx.plan.measure(ctx.run.dir, ctx.outcome.context, read_and_keep, live)
    finally:
        getattr(read_final, "close", lambda: None)()
    ctx.outcome.measurements = measurements
    ctx.outcome.checks = checks
