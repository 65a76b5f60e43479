"""A plan's steps, and the check that refuses a plan before anything starts.

Every step declares the slots of the run state (:mod:`chaos.engine.state`) it ``reads`` and
``writes``, and the fault keys it ``injects`` or ``heals``. :func:`check_plan` walks the steps
in order: a step that reads a slot no earlier step wrote, names a slot the state does not have,
or heals a fault no earlier step injects, makes the plan refused (exit 2) before the run
directory, a server or a load process exists.

A step's function is an :class:`Action`: ``@action(reads=..., writes=...)`` on a function of the
run context declares what it touches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.engine.state import RunState
from chaos.errors import ChaosError

if TYPE_CHECKING:
    from chaos.engine.context import RunContext


class PlanError(ChaosError):
    """A plan whose steps cannot run in this order (found before anything starts)."""


@dataclass(frozen=True)
class Action:
    """A function of the run context with what it reads and writes of the run state."""

    fn: Callable[[Any], Any]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    injects: tuple[str, ...] = ()  # fault keys it may inject itself (ctx.inject)

    @property
    def name(self) -> str:
        return getattr(self.fn, "__name__", "action")

    def __call__(self, ctx: Any) -> Any:
        return self.fn(ctx)


def action(reads: Iterable[str] = (), writes: Iterable[str] = (),
           injects: Iterable[str] = ()) -> Callable[[Callable[[Any], Any]], Action]:
    """Declare what a step function reads and writes of the run state."""
    def declare(fn: Callable[[Any], Any]) -> Action:
        return Action(fn, tuple(reads), tuple(writes), tuple(injects))
    return declare


def as_action(fn: Callable[[Any], Any] | Action | None, reads: Iterable[str] = ()) -> Action | None:
    """``fn`` as an Action (a plain function declares nothing but ``reads``)."""
    if fn is None:
        return None
    if isinstance(fn, Action):
        return Action(fn.fn, tuple(dict.fromkeys((*fn.reads, *reads))), fn.writes, fn.injects) if reads else fn
    return Action(fn, tuple(reads))


def _reads(*actions: Action | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for a in actions if a is not None for name in a.reads))


class Step:
    """One step of a plan; subclasses say what it does. ``name`` shows in errors."""

    name = "step"
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    injects: tuple[str, ...] = ()
    heals: tuple[str, ...] = ()

    def run(self, ctx: RunContext[Any, Any]) -> None:
        raise NotImplementedError


class Do(Step):
    """Run an action (provision, choose a target, start load, measure, ...)."""

    def __init__(self, fn: Callable[[Any], Any] | Action, reads: Iterable[str] = ()):
        act = as_action(fn, reads)
        assert act is not None
        self.action = act
        self.name, self.reads, self.writes, self.injects = act.name, act.reads, act.writes, act.injects

    def run(self, ctx: RunContext[Any, Any]) -> None:
        self.action(ctx)


class Phase(Step):
    """Start a named phase of the run (latency is reported per phase)."""

    def __init__(self, phase: str):
        self.phase = phase
        self.name = f"phase {phase}"

    def run(self, ctx: RunContext[Any, Any]) -> None:
        ctx.run.phase(self.phase)


class SleepUntil(Step):
    """Wait until the run clock reaches ``at(ctx)`` seconds (fails fast if the load died)."""

    def __init__(self, at: Callable[[Any], float], reads: Iterable[str] = (), name: str = "sleep"):
        self.at, self.reads, self.name = at, tuple(reads), name

    def run(self, ctx: RunContext[Any, Any]) -> None:
        ctx.sleep_until(self.at(ctx))


class Inject(Step):
    """Build a fault from the context and inject it under ``key`` (``make`` may return None:
    skipped). ``into`` names a slot of the state that receives the fault's ledger record;
    ``then(ctx)`` runs right after the injection, before the run says it happened."""

    def __init__(self, key: str, make: Callable[[Any], Any] | Action, into: str | None = None,
                 then: Callable[[Any], Any] | Action | None = None):
        self.key, self.into = key, into
        self.make, self.then = as_action(make), as_action(then)
        self.name = f"inject {key}"
        # ``then`` may read the record ``into`` receives: the step itself provides it
        self.reads = tuple(name for name in _reads(self.make, self.then) if name != into or name in _reads(self.make))
        self.writes = tuple(dict.fromkeys(((into,) if into else ()) + (self.then.writes if self.then else ())))
        self.injects = (key,)

    def run(self, ctx: RunContext[Any, Any]) -> None:
        assert self.make is not None
        fault = self.make(ctx)
        if fault is None:
            return
        record = ctx.inject(fault, self.key)
        if self.into:
            setattr(ctx.state, self.into, record)
        if self.then is not None:
            self.then(ctx)
        ctx.say(fault.describe())


class Heal(Step):
    """Heal the fault injected under ``key`` (nothing if it was never injected)."""

    def __init__(self, key: str):
        self.key = key
        self.name = f"heal {key}"
        self.heals = (key,)

    def run(self, ctx: RunContext[Any, Any]) -> None:
        ctx.heal(self.key)


class WaitUntil(Step):
    """Poll ``condition(ctx)`` until it returns something truthy or ``timeout(ctx)`` passes;
    the result (or None) goes to the state's slot ``key`` and ``report(ctx, result)`` says it.
    With ``when(ctx)`` false the wait is skipped (the slot is None)."""

    def __init__(self, key: str, condition: Callable[[Any], Any] | Action, timeout: Callable[[Any], float],
                 report: Callable[[Any, Any], None] | None = None, when: Callable[[Any], Any] | Action | None = None,
                 reads: Iterable[str] = ()):
        self.key, self.timeout, self.report = key, timeout, report
        self.condition, self.when = as_action(condition), as_action(when)
        self.name = f"wait for {key}"
        self.reads = tuple(dict.fromkeys((*_reads(self.condition, self.when), *reads)))
        self.writes = (key,)

    def run(self, ctx: RunContext[Any, Any]) -> None:
        if self.when is not None and not self.when(ctx):
            setattr(ctx.state, self.key, None)
            return
        condition = self.condition
        assert condition is not None
        result = ctx.wait_until(lambda: condition(ctx), self.timeout(ctx))
        setattr(ctx.state, self.key, result)
        if self.report is not None:
            self.report(ctx, result)


@dataclass
class Plan:
    """A scenario as data: its steps over a typed run state, how to measure its files, and what
    it reports.

    ``state`` is the run state class (its ``KIND`` chooses chart sets); ``context_of(ctx)``
    builds the measure context saved in result.json (:mod:`chaos.measure_context`); ``known``
    lists the measurement names an ``--slo`` may name; ``headline`` those the summary prints;
    ``final_read`` is the file the live final read is kept in (``chaos analyze`` reads it
    instead of the servers); ``partial`` judges what a run killed mid-way left (measurements,
    checks, context), from its files and ``started.json``."""

    name: str
    summary: str
    steps: list[Step]
    measure: Callable[..., tuple[dict[str, Any], list[Any]]]
    known: set[str]
    headline: list[str]
    state: type[RunState] = RunState
    context_of: Callable[[Any], Any] | None = None
    final_read: str = "final-read.jsonl"
    # a run that stopped without its result.json (the harness killed): ``partial(run_dir, started)``
    # measures what its files hold, from ``started.json`` (written as the run began); None: cannot
    partial: Callable[[Path, dict[str, Any]], tuple[dict[str, Any], list[Any], dict[str, Any]]] | None = None


def check_plan(plan: Plan) -> None:
    """Refuse (PlanError, exit 2) a plan whose steps read what no earlier step provides, name a
    slot the state does not have, or heal a fault no earlier step injects."""
    state = plan.state
    slots = state.slots()
    provided = {name for name, slot in slots.items() if slot.always_set}
    injected: set[str] = set()
    for step in plan.steps:
        for name in (*step.reads, *step.writes):
            if name not in slots:
                raise PlanError(f"plan {plan.name!r} is broken: step {step.name!r} names {name!r}, which "
                                f"{state.__name__} has no slot for (slots: {', '.join(sorted(slots))})")
        for name in step.reads:
            if name not in provided:
                raise PlanError(f"plan {plan.name!r} is broken: step {step.name!r} needs {name!r} "
                                f"({slots[name].doc}), which no earlier step provides")
        for key in step.heals:
            if key not in injected:
                raise PlanError(f"plan {plan.name!r} is broken: step {step.name!r} heals {key!r}, which no earlier "
                                "step injects")
        provided.update(step.writes)
        injected.update(step.injects)
