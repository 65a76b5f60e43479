"""Typed run state: what steps hand to each other, and the fault ledger.

A plan's state is a :class:`RunState` subclass (one per topology kind: a Redis Cluster run's
cluster, victim, probe, …; a replication pair's source, replica, heartbeat, …). Each value is a
:class:`Slot`, typed for the type checker, that starts unset: a step that declares it writes
the slot provides it, and reading a slot no step has provided yet is an error naming the slot
(the plan check, :func:`chaos.engine.steps.check_plan`, finds such a plan before anything
starts). A slot with a default is always readable.

The :class:`FaultLedger` holds a :class:`FaultRecord` per injected fault (when it was injected,
when its heal started and ended); the engine writes it, waits and measurements read it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from chaos.errors import ChaosError

T = TypeVar("T")
_UNSET: Any = object()


class StateError(ChaosError):
    """The harness's own bug: a step read a value of the run state no step had provided."""

    exit_code = 1


class Slot(Generic[T]):
    """One value of a run state: ``doc`` says what it is; ``default`` (or ``factory``) makes it
    readable before any step writes it."""

    def __init__(self, doc: str, default: Any = _UNSET, factory: Callable[[], T] | None = None):
        self.doc, self.default, self.factory = doc, default, factory
        self.name = "?"

    @property
    def always_set(self) -> bool:
        return self.default is not _UNSET or self.factory is not None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Slot[T]: ...

    @overload
    def __get__(self, obj: object, owner: type) -> T: ...

    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        if self.name in values:
            return values[self.name]
        if self.factory is not None:
            values[self.name] = self.factory()
            return values[self.name]
        if self.default is not _UNSET:
            return self.default
        raise StateError(f"{type(obj).__name__}.{self.name} ({self.doc}) was read before any step provided it")

    def __set__(self, obj: object, value: T) -> None:
        obj.__dict__[self.name] = value


class RunState:
    """Base of every plan's state; ``fault_at`` is what every plan with a warm-up has."""

    KIND = "run"  # the topology kind the state belongs to (chart sets, measure contexts)

    fault_at = Slot[float]("run seconds at which the fault is due: the end of the warm-up")

    @classmethod
    def slots(cls) -> dict[str, Slot[Any]]:
        """Every slot of this state class, by name."""
        found: dict[str, Slot[Any]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Slot):
                    found[name] = value
        return found

    def provided(self, name: str) -> bool:
        return name in self.__dict__ or self.slots()[name].always_set


@dataclass
class FaultRecord:
    """One fault of the run: the object, and the run seconds of its injection (the nemesis
    invoke; ``acknowledged`` once the injection returned) and of its heal (started, done)."""

    key: str
    fault: Any  # chaos.faults.Fault
    injected_t: float
    acknowledged: bool = False
    heal_started_t: float | None = None
    healed_t: float | None = None

    @property
    def healed(self) -> bool:
        return self.healed_t is not None

    def as_result(self) -> dict[str, Any]:
        """The entry of result.json's ``faults``."""
        return {"key": self.key, "kind": self.fault.name, "target": self.fault.target,
                "injected_at": self.injected_t if self.acknowledged else None, "healed_at": self.healed_t}


class FaultLedger:
    """The faults injected so far, by key, in the order they were injected."""

    def __init__(self) -> None:
        self._records: dict[str, FaultRecord] = {}

    def add(self, record: FaultRecord) -> None:
        self._records[record.key] = record

    def get(self, key: str) -> FaultRecord | None:
        return self._records.get(key)

    def __getitem__(self, key: str) -> FaultRecord:
        return self._records[key]

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[FaultRecord]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)
