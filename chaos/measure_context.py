"""The measure context: what a run's measurements need besides its files (which node was the
victim, when the fault began and healed, the phases, ...), saved as result.json's ``context``
with a ``version`` and a ``form``, and read back typed by `chaos analyze` and the reports.

One form per kind of plan (:class:`RedisFailoverContext`, :class:`ScaleContext`,
:class:`ReplicationContext`); :func:`upgrade` brings an older run directory's context to the
current version. The old names (``kill_t``, a failover's ``restart_t``) live there and nowhere
else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

CONTEXT_VERSION = 2  # 1 (no "version"): untyped, with the aliases upgrade() resolves


@dataclass
class MeasureContext:
    """What every plan's measurements need: the phases, [name, run seconds] in order."""

    FORM: ClassVar[str] = "run"
    phases: list[Any] = field(default_factory=list)

    @property
    def reference_t(self) -> float:
        """The moment runs are aligned at when compared (the fault, or the migration)."""
        return 0.0

    def to_json(self) -> dict[str, Any]:
        return {"version": CONTEXT_VERSION, "form": self.FORM, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeasureContext:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RedisFailoverContext(MeasureContext):
    """A fault of one Redis Cluster node (master-kill, master-pause, partition)."""

    FORM: ClassVar[str] = "redis-failover"
    victim: str = ""
    victim_address: str = ""
    victim_role: str = ""
    victim_slots: list[Any] = field(default_factory=list)  # [lo, hi] ranges
    replicas: dict[str, str] = field(default_factory=dict)  # name → address of the victim's replicas
    first_slot: int | None = None
    fault_t: float = 0.0
    heal_t: float | None = None  # when the heal ended (restarted, resumed, cut healed)
    node_timeout_ms: int = 0
    rejoin_timeout: float = 0.0
    rejoin_master: str | None = None  # whom the victim should follow again when no failover is expected

    @property
    def reference_t(self) -> float:
        return self.fault_t

    @classmethod
    def of(cls, ctx: Any) -> RedisFailoverContext:
        s = ctx.state
        return cls(phases=list(ctx.run.phases), victim=s.victim["name"], victim_address=s.victim["address"],
                   victim_role=s.victim["role"], victim_slots=s.victim_slots, replicas=s.replicas,
                   first_slot=s.first_slot, fault_t=s.fault.injected_t, heal_t=s.fault.healed_t,
                   node_timeout_ms=s.cluster.config.node_timeout_ms, rejoin_timeout=ctx.config.rejoin_timeout,
                   rejoin_master=s.rejoin_master)


@dataclass
class ScaleContext(MeasureContext):
    """Slots moved under load (scale-out, scale-in)."""

    FORM: ClassVar[str] = "redis-scale"
    migration_start_t: float | None = None
    migration_end_t: float | None = None
    rebalance: bool = False
    removed: list[str] = field(default_factory=list)  # node ids removed (scale-in)
    moved_ranges: dict[str, Any] | None = None  # source address → [lo, hi] ranges it gave away
    slots_fixed: list[Any] | None = None  # slots a cleanup had to close (legacy migration)
    slots_half_moved: list[Any] | None = None  # found by the cleanup after an atomic migration
    memory: dict[str, Any] | None = None  # scale-in's memory budget check

    @property
    def reference_t(self) -> float:
        return self.migration_start_t or 0.0

    @classmethod
    def of(cls, ctx: Any) -> ScaleContext:
        s = ctx.state
        return cls(phases=list(ctx.run.phases), migration_start_t=s.migration_start_t,
                   migration_end_t=s.migration_end_t, rebalance=s.rebalance, removed=list(s.removed_ids),
                   moved_ranges=s.moved_ranges, slots_fixed=s.slots_fixed, slots_half_moved=s.slots_half_moved,
                   memory=s.memory)


@dataclass
class ReplicationContext(MeasureContext):
    """A fault of a MySQL/MariaDB replication pair (replica-stop)."""

    FORM: ClassVar[str] = "mysql-replication"
    mode: str = ""
    fault_t: float = 0.0
    restart_t: float | None = None  # when the heal (the replica's restart) began
    target_gtid: str | None = None  # the source's position at the restart

    @property
    def reference_t(self) -> float:
        return self.fault_t

    @property
    def cooldown_t(self) -> float | None:
        """When the cool-down began: the catch-up wait (under load) had ended."""
        return next((t for name, t in self.phases if name == "cooldown"), None)

    @classmethod
    def of(cls, ctx: Any) -> ReplicationContext:
        s = ctx.state
        return cls(phases=list(ctx.run.phases), mode=ctx.config.mode, fault_t=s.fault.injected_t,
                   restart_t=s.fault.heal_started_t, target_gtid=s.target_gtid)


@dataclass
class SourceKillContext(MeasureContext):
    """The source of a MySQL/MariaDB pair died, the replica was promoted (source-kill)."""

    FORM: ClassVar[str] = "mysql-failover"
    mode: str = ""
    semi_sync: str = "off"
    promote: str = ""
    rejoin: str = ""
    fault_t: float = 0.0  # the kill (or stop) of the source
    link_t: float | None = None  # --mode partition: when the replication connection was cut
    link_healed_t: float | None = None
    writable_t: float | None = None  # when the promoted replica became writable
    restart_t: float | None = None  # when the old source's restart began
    old_source: str = ""  # its node name
    old_source_address: str = ""
    new_source: str = ""
    new_source_address: str = ""
    promoted: dict[str, Any] | None = None  # the promotion's steps and positions
    rejoined: dict[str, Any] | None = None  # errant transactions, how the old source came back

    @property
    def reference_t(self) -> float:
        return self.fault_t

    @classmethod
    def of(cls, ctx: Any) -> SourceKillContext:
        s, c = ctx.state, ctx.config
        link = s.link if s.provided("link") else None
        promoted = s.promoted if s.provided("promoted") else None
        rejoined = s.rejoined if s.provided("rejoined") else None
        return cls(phases=list(ctx.run.phases), mode=c.mode, semi_sync=c.semi_sync, promote=c.promote, rejoin=c.rejoin,
                   fault_t=s.fault.injected_t, link_t=link.injected_t if link else None,
                   link_healed_t=link.heal_started_t if link else None,
                   writable_t=(promoted or {}).get("writable_t"), restart_t=s.fault.heal_started_t,
                   old_source=s.old_source.name, old_source_address=s.old_source.address,
                   new_source=(promoted or {}).get("node", ""),
                   new_source_address=(promoted or {}).get("address", ""), promoted=promoted, rejoined=rejoined)


@dataclass
class SoakContext(MeasureContext):
    """Many fault episodes over one run (soak): each episode's record as the run saw it live
    (target, its replicas and first slot, injection, heal, steady again), and the slot groups
    the write availability is measured over."""

    FORM: ClassVar[str] = "redis-soak"
    episodes: list[dict[str, Any]] = field(default_factory=list)
    groups: list[Any] = field(default_factory=list)  # [lo, hi, name]: the masters' slot ranges at the start
    soak_t0: float = 0.0  # run seconds the schedule's offsets count from
    load_end_t: float | None = None
    node_timeout_ms: int = 0
    in_progress: list[int] = field(default_factory=list)  # episodes not finished when the run ended

    @property
    def reference_t(self) -> float:
        return self.episodes[0]["injected_t"] if self.episodes else 0.0

    @classmethod
    def of(cls, ctx: Any) -> SoakContext:
        s = ctx.state
        return cls(phases=list(ctx.run.phases), episodes=s.episodes, groups=s.groups, soak_t0=s.soak_t0,
                   load_end_t=s.load_end_t, node_timeout_ms=s.cluster.config.node_timeout_ms,
                   in_progress=list(s.in_progress))


FORMS: dict[str, type[MeasureContext]] = {c.FORM: c for c in (MeasureContext, RedisFailoverContext, ScaleContext,
                                                                 ReplicationContext, SourceKillContext, SoakContext)}
# version 1 had no form: it follows from the scenario that wrote it
_FORM_OF_SCENARIO = {"master-kill": "redis-failover", "master-pause": "redis-failover", "partition": "redis-failover",
                     "scale-out": "redis-scale", "scale-in": "redis-scale", "replica-stop": "mysql-replication"}


def upgrade(result: dict[str, Any]) -> dict[str, Any]:
    """A result's context at the current version (the only place old names are read)."""
    context = dict(result.get("context") or {})
    version = context.get("version", 1)
    if version == 1:
        form = _FORM_OF_SCENARIO.get(result.get("scenario", ""), "run")
        if form == "redis-failover":
            # the fault's time was kill_t before the redesign of the fault record, the heal's restart_t
            context.setdefault("fault_t", context.get("kill_t"))
            context.setdefault("heal_t", context.get("restart_t"))
        elif "fault_t" not in context and "kill_t" in context:
            context["fault_t"] = context["kill_t"]
        context.update(version=CONTEXT_VERSION, form=form)
    return context


def load_context(result: dict[str, Any]) -> MeasureContext:
    """The typed context of a result (any version)."""
    context = upgrade(result)
    return FORMS.get(context.get("form", "run"), MeasureContext).from_json(context)


_KIND_OF_FORM = {"redis-failover": "redis-cluster", "redis-scale": "redis-cluster", "redis-soak": "redis-cluster",
                 "mysql-replication": "mysql-replication", "mysql-failover": "mysql-replication"}


def kind_of(result: dict[str, Any]) -> str:
    """The topology kind of a run (``redis-cluster``, ``mysql-replication``; ``run`` when unknown):
    result.json's ``kind``, or for an older run the kind of its context's form."""
    return result.get("kind") or _KIND_OF_FORM.get(upgrade(result).get("form", ""), "run")
