"""What a run's steps see and share: :class:`RunContext`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from chaos.engine.config import Outcome, RunConfig
from chaos.engine.state import FaultLedger, FaultRecord, RunState
from chaos.errors import ChaosError
from chaos.history import INFO, INVOKE, OK
from chaos.metrics import RunMetrics
from chaos.progress import Progress
from chaos.runner import Run, make_run_dir
from chaos.slo import parse_slo
from chaos.state import StateDir
from chaos.wait import wait_until

if TYPE_CHECKING:
    from chaos.engine.steps import Plan

S = TypeVar("S", bound=RunState, covariant=True)
C = TypeVar("C", bound=RunConfig, covariant=True)


class RunContext(Generic[S, C]):
    """What steps see and share: the run (directory, clock, events, nemesis history), the config
    (``C``), the state directory, a seeded random source, the typed run state (``S``) that
    steps hand to each other, the fault ledger, and the cleanup stack."""

    def __init__(self, plan: Plan, config: C, state_dir: StateDir):
        config.validate()
        self.plan, self.config, self.state_dir = plan, config, state_dir
        self.slos = [parse_slo(t, plan.known) for t in config.slo]
        self.seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
        self.rng = random.Random(self.seed)
        self.run = Run(plan.name, make_run_dir(plan.name, config.out))
        self.started_wall = time.time()
        self.progress = Progress().listen(self.run.events)
        self.metrics = RunMetrics(plan.name, self.run.run_id, server=server_label(plan, config),
                                  backend=config.backend, label=config.label or "", seed=self.seed
                                  ).listen(self.run.events)
        if config.metrics_port is not None:
            self.metrics.serve(config.metrics_port)
            self.say(f"metrics on http://127.0.0.1:{config.metrics_port}/metrics")
        self.outcome = Outcome()
        self.state: S = plan.state()  # type: ignore[assignment]  # the plan's state class is S
        self.ledger = FaultLedger()
        self.load: Any = None  # the LoadController, once started (sleep_until watches it)
        self.interrupted = False
        self._cleanups: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    # -- conveniences ---------------------------------------------------------------------
    def say(self, message: str) -> None:
        self.run.say(message)

    def elapsed(self, at: float | None = None) -> float:
        return self.run.elapsed(at)

    def measured(self, name: str, value: Any) -> None:
        """A measurement known before the run ends (``name`` as in result.json's measurements):
        /metrics shows it from now on; result.json keeps the checkers' value."""
        self.run.events.measurement.fire(name=name, value=value)

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
    def inject(self, fault: Any, key: str | None = None) -> FaultRecord:
        """Inject ``fault`` under ``key``: nemesis invoke, a ledger record, the heal put on the
        cleanup stack, the action, then ``ok`` (or ``info`` with the error, which then
        propagates). The record's ``injected_t`` is the invoke's run time: the fault's time."""
        key = key or fault.name
        at = self.run.nemesis_op(INVOKE, fault.name, fault.target)
        record = FaultRecord(key, fault, self.elapsed(at))
        self.ledger.add(record)
        self.cleanup(self._heal_quietly, key)
        try:
            fault.inject()
        except BaseException as exc:
            self.run.nemesis_op(INFO, fault.name, fault.target, error=f"{type(exc).__name__}: {exc}")
            raise
        self.run.nemesis_op(OK, fault.name, fault.target)
        record.acknowledged = True
        self.run.events.fault.fire(fault=fault.name, active=True)
        return record

    def heal(self, key: str) -> FaultRecord | None:
        """Heal the fault injected under ``key``; recorded as the nemesis' ``heal_name``.
        Idempotent: a second heal (e.g. the cleanup after an explicit heal) records nothing."""
        record = self.ledger.get(key)
        if record is None or record.healed:
            return None
        fault = record.fault
        at = self.run.nemesis_op(INVOKE, fault.heal_name, fault.target)
        try:
            fault.heal()
        except BaseException as exc:
            self.run.nemesis_op(INFO, fault.heal_name, fault.target, error=f"{type(exc).__name__}: {exc}")
            raise
        done = self.run.nemesis_op(OK, fault.heal_name, fault.target)
        record.heal_started_t = self.elapsed(at)
        self.run.events.fault.fire(fault=fault.name, active=False)
        record.healed_t = self.elapsed(done)
        self.say(fault.describe_heal())
        return record

    def _heal_quietly(self, key: str) -> None:
        self.heal(key)


def server_label(plan: Plan, config: Any) -> str:
    """The ``server`` label of a run's metrics: what --server asked for (``mariadb:11.8``), or the
    family a run starts by default (``redis``, ``mariadb``)."""
    from chaos.servers import parse_server

    if getattr(config, "server", None):
        return str(config.server)
    kind = {"redis-cluster": "redis", "mysql-replication": "mysql"}.get(plan.state.KIND)
    return parse_server(None, kind).family.name if kind else ""
