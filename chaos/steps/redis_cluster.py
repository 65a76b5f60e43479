"""Steps every Redis Cluster plan shares (the failover scenarios and scale-out/in): the run
state of a Redis Cluster run, provision (or attach to) the cluster, choose a node, probes and
load, the load generator's saturation, cool-down, and the servers' own log lines."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from redis.crc import key_slot

from chaos.backends import make_backend
from chaos.clients.resp import PASSWORD_ENV, cluster_password
from chaos.engine import RunContext, RunState, Slot, action, copy_node_files
from chaos.errors import ChaosError
from chaos.observe.cpu import cpu_seconds, saturation, server_cpu
from chaos.observe.redis_log import parse_redis_log
from chaos.observe.redis_probe import RedisProbe
from chaos.runner import start_load
from chaos.settings import RedisRunConfig
from chaos.steps.client_view import install_clients, start_clients, stop_clients
from chaos.topology.kinds import load_topology
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig, server_version
from chaos.topology.redis_info import parse_slot_ranges

StatusRow = dict[str, Any]  # one node of `RedisCluster.status()`: name, address, role, follows, slots, keys, ...


class RedisState(RunState):
    """The run state of every Redis Cluster plan."""

    KIND = "redis-cluster"

    cluster = Slot[Any]("the cluster (RedisCluster, or AttachedRedisCluster with --attach)")
    probe = Slot[RedisProbe]("the probes sampling every node into the timeline")
    cpu_start = Slot[Any]("CPU seconds of the load and of each master when the load began", default=None)
    load_generator = Slot[Any]("whether the load generator or a server was the limit", default=None)
    victim = Slot[Any]("the status row of the node the fault targets; a scale run has none")
    clients = Slot[Any]("the client view's library processes (--clients), or None", default=None)


RedisCtx = RunContext[RedisState, RedisRunConfig]


def redis_config(config: RedisRunConfig) -> RedisClusterConfig:
    return RedisClusterConfig(config.masters, config.replicas_per_master, config.node_timeout_ms, config.base_port,
                              server=config.server or "", image_ref=config.image or "")


# -- steps ---------------------------------------------------------------------------------------
@action(writes=["cluster"])
def provision_cluster(ctx: RedisCtx) -> None:
    """The cluster that is up, a cluster the user runs (--attach), or a new one (torn down at the
    end unless --keep); then the steady state: every node answers, all slots covered, every
    replica linked."""
    config, state_dir = ctx.config, ctx.state_dir
    install_clients(ctx)  # a client that cannot be installed ends the run before anything starts
    if config.attach:
        cluster = attach_cluster(ctx)
    elif state_dir.topology("redis-cluster") is None:
        cluster = RedisCluster(state_dir, redis_config(config), make_backend(config.backend, state_dir.path))
        ctx.say(f"starting a Redis Cluster: {cluster.config.masters} masters × {cluster.config.replicas_per_master} "
                f"replica(s), cluster-node-timeout {cluster.config.node_timeout_ms} ms")
        seconds = cluster.up(say=ctx.say)
        ctx.cleanup(ctx.teardown, cluster, "cluster")
        ctx.say(f"cluster up in {seconds:.2f} s")
    else:
        cluster = load_topology(state_dir, "redis-cluster")
        if cluster.attached:
            raise ChaosError(f"{state_dir.path} still records an attachment to {cluster.target} from a run that did "
                             "not finish; run `chaos down` (it brings back what that run stopped) and try again")
        ctx.say(f"using the redis-cluster already up in {state_dir.path} ({cluster.backend.name} backend)")
        config.backend = cluster.backend.name  # the run reports where its nodes really ran
        if config.image and config.image != cluster.config.image_ref:
            raise ChaosError(f"--image {config.image}, but the cluster up in {state_dir.path} runs "
                             f"{cluster.config.image or 'local processes'}; drop --image or `chaos down` first")
    ctx.state.cluster = cluster
    if not cluster.attached:
        ctx.cleanup(copy_node_files, cluster.specs, ctx.run, ("redis.conf", "nodes.conf", "stdout.log"))
    problems = cluster.problems_before_faults() if cluster.attached else cluster.health_problems()
    if problems:
        raise ChaosError(f"steady state not reached: {'; '.join(problems[:3])}; fix it" +
                         ("" if cluster.attached else " or `chaos down`") + " and run again")
    ctx.outcome.topology["before"] = cluster.status()
    ctx.outcome.topology["server_version"] = server_version(cluster.client(cluster.specs[0]).info("server"))
    if not cluster.attached and cluster.backend.name == "docker":
        from chaos.image_ref import image_record
        from chaos.topology.redis_cluster import HARNESS_SETTINGS

        ctx.outcome.topology["image"] = image_record(cluster.backend.client, cluster.config.image,
                                                     cluster.config.image_info, HARNESS_SETTINGS)


def attach_cluster(ctx: RedisCtx) -> Any:
    """--attach: discover, print what was found, record it (so a crashed run's `chaos down`
    brings back what it stopped); at the end delete the run's keys (unless --keep-data) and
    bring every node back."""
    from chaos.topology.attach import AttachedRedisCluster, delete_run_keys
    from chaos.topology.attach_input import load_password, password_scope

    config, state_dir = ctx.config, ctx.state_dir
    assert config.attach is not None
    if state_dir.topology("redis-cluster") is not None:
        raise ChaosError(f"{state_dir.path} already records a redis-cluster; --attach needs a state dir of its own "
                         "(`chaos down` first, or give --state-dir)")
    ctx.cleanup(password_scope().close)  # the last cleanup: the password leaves with the run
    load_password(config.password_env, config.attach)
    cluster = AttachedRedisCluster.discover(state_dir, config.attach, config.backend, config.allow_remote)
    for line in cluster.describe():
        ctx.say(line)
    state_dir.ensure()
    cluster.save()
    ctx.cleanup(finish_attachment, ctx, cluster)
    if not config.keep_data:
        def delete_keys() -> None:
            ctx.say(f"deleted {delete_run_keys(cluster, ctx.run.run_id)} key(s) this run wrote")
        ctx.cleanup(delete_keys)
    ctx.outcome.topology["attached"] = {"target": cluster.target, "unmapped": cluster.unmapped,
                                        "notes": cluster.notes, "versions": cluster.versions}
    return cluster


def finish_attachment(ctx: RedisCtx, cluster: Any) -> None:
    changed = cluster.restore(ctx.say)
    ctx.outcome.topology["attached"]["roles_changed"] = changed
    cluster.release()


def require_faultable(ctx: RedisCtx, name: str, needs_restart: bool) -> None:
    """An attached node the harness could not map to what runs it cannot be faulted: exit 2."""
    cluster = ctx.state.cluster
    why = cluster.can_fault(name, needs_restart) if cluster.attached else None
    if why:
        raise ChaosError(f"{ctx.plan.name} cannot fault {name}: {why}; choose another node with --target")


def require_own_addresses(ctx: RedisCtx, names: list[str], what: str) -> None:
    """Address-based firewall rules need every node involved on its own address."""
    cluster = ctx.state.cluster
    hosts = [s.host for s in cluster.specs]
    shared = [n for n in names if hosts.count(cluster.spec(n).host) > 1]
    if shared:
        raise ChaosError(f"{what} cuts links by address, and {shared[0]} shares {cluster.spec(shared[0]).host} with "
                         "other nodes; give each node its own loopback address (bind + bind-source-addr)")


def choose_node(ctx: RedisCtx, target: str | None, role: str = "master") -> StatusRow:
    """The status row of ``target`` (name or address), or a seeded random node of ``role``."""
    rows = ctx.outcome.topology["before"]
    masters = [r for r in rows if r["role"] == "master" and r["slots"]]
    if target:
        for r in rows:
            if target in (r["name"], r["address"]):
                if role == "master" and r["role"] != "master":
                    raise ChaosError(f"--target {target} is a {r['role'] or 'stopped node'}; {ctx.plan.name} "
                                     f"needs a master: {', '.join(m['name'] for m in masters)}")
                return r
        raise ChaosError(f"--target {target}: no such node; nodes are "
                         + ", ".join(f"{r['name']} ({r['address']})" for r in rows))
    pool = masters if role == "master" else [r for r in rows if r["role"] == role]
    if not pool:
        raise ChaosError(f"the cluster has no {role} to target")
    return ctx.rng.choice(sorted(pool, key=lambda r: r["name"]))


def master_of_key(ctx: RedisCtx, key: str) -> StatusRow:
    slot = key_slot(key.encode())
    for r in ctx.outcome.topology["before"]:
        if r["role"] == "master" and any(lo <= slot <= hi for lo, hi in parse_slot_ranges(r["slots"])):
            return r
    raise ChaosError(f"no master owns slot {slot} of --target-key {key!r}")


@action(reads=["cluster"], writes=["probe", "cpu_start", "fault_at", "clients"])
def start_probe_and_load(ctx: RedisCtx) -> None:
    """Probes on every node (10 ms), then the load; the warm-up phase begins."""
    cluster, config, run = ctx.state.cluster, ctx.config, ctx.run
    before = ctx.outcome.topology["before"]
    watch = sorted(lo for r in before if r["role"] == "master" for lo, _ in parse_slot_ranges(r["slots"]))
    probe = RedisProbe(cluster.specs, run.dir / "timeline.jsonl", run.t0, run.wall0, watch,
                       interval=config.probe_interval_ms / 1000.0, on_sample=lambda s: run.events.sample.fire(**s))
    probe.start()
    ctx.state.probe = probe
    ctx.cleanup(stop_probe, ctx)
    run.phase("warmup")
    load_seconds = max(config.duration, config.warmup) + 600  # stopped by us, not by its clock
    ctx.load = start_load(run, "redis", config.users, load_seconds, seed=ctx.seed, state=ctx.state_dir,
                          seeds=[s.address for s in cluster.specs], **config.load_options())
    ctx.cleanup(ctx.load.stop)
    ctx.state.cpu_start = cpu_snapshot(ctx)
    ctx.state.clients = start_clients(ctx, {"seeds": [s.address for s in cluster.specs]},
                                      (PASSWORD_ENV, cluster_password()))
    victim = ctx.state.victim if ctx.state.provided("victim") else None
    ctx.state.fault_at = ctx.elapsed() + config.warmup
    target = "" if victim is None else (
        f"; target {victim['name']} ({victim['address']}, {victim['role']}"
        + (f", slots {victim['slots']}" if victim["slots"] else "") + ")")
    ctx.say(f"load: {config.users} users; warm-up {config.warmup:g} s{target}")


def cpu_snapshot(ctx: RedisCtx) -> tuple[float, float, dict[str, float]]:
    """(time, CPU seconds of the load processes, CPU seconds of each master's main thread)."""
    masters = [r["address"] for r in ctx.outcome.topology["before"] if r["role"] == "master"]
    servers = {a: c for a in masters if (c := server_cpu(a)) is not None}
    return time.monotonic(), sum(cpu_seconds(p) or 0.0 for p in ctx.load.pids()), servers


def load_generator_check(ctx: RedisCtx) -> None:
    """Before the load stops: was the load generator, not the servers, the limit? Say so."""
    start = ctx.state.cpu_start
    if start is None:
        return
    t1, gen1, servers1 = cpu_snapshot(ctx)
    t0, gen0, servers0 = start
    span = max(t1 - t0, 1e-9)
    result = saturation((gen1 - gen0) / span, len(ctx.load.pids()),
                        {a: max(0.0, servers1[a] - servers0[a]) / span for a in servers1 if a in servers0})
    ctx.state.load_generator = result
    if result["generator_saturated"]:
        ctx.say(f"note: the load generator was saturated ({result['generator_cores']:.2f} cores for "
                f"{result['load_processes']} load process(es)) while no server's main thread used 90 % of a "
                "core: the ops/s measured are the load generator's limit, not the servers'; try --workers auto")


def stop_probe(ctx: RedisCtx) -> None:
    if not ctx.state.provided("probe"):
        return
    probe = ctx.state.probe
    probe.stop()
    if probe.errors:
        ctx.say(f"warning: the probes hit {probe.errors} unexpected error(s); last: {probe.last_error}")


def stop_load_and_probe(ctx: RedisCtx) -> None:
    """Stop the load (after the saturation check) and the probes; record the topology after."""
    load_generator_check(ctx)
    stop_clients(ctx, ctx.state.clients)
    ctx.load.stop()
    ctx.say(f"load stopped after {ctx.elapsed():.1f} s")
    stop_probe(ctx)
    ctx.outcome.topology["after"] = ctx.state.cluster.status()


def append_timeline(path: Path, events: list[dict[str, Any]], source: str | None = "log") -> None:
    """Events after the probe samples (``source`` tags each, unless None: they carry their own)."""
    with open(path, "a") as out:
        for e in events:
            out.write(json.dumps({"source": source, **e} if source else e, separators=(",", ":")) + "\n")


def server_events(cluster: RedisCluster, ctx: RedisCtx, fault_t: float) -> list[dict[str, Any]]:
    """The nodes' own log lines about the fault (from a second before it), in run time."""
    events = []
    for spec in cluster.specs:
        for e in parse_redis_log(cluster.backend.log_lines(spec.name, since=ctx.run.wall0), spec.name):
            t = e["wall"] - ctx.run.wall0
            if t >= fault_t - 1.0:
                events.append({**e, "time": round(t, 6)})
    return sorted(events, key=lambda e: e["time"])
