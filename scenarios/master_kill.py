"""master-kill: SIGKILL a Redis Cluster master under load and measure the failover.

Steady state (cluster ok, all slots, every replica linked) → load + probes → warm-up → kill a
master → wait for a replica to own its slots → restart the old master → wait until it is a
replica of the promoted node → cool-down → stop load → final read of every key → compare every
master with its replicas → checks. Healing and teardown always run, also on Ctrl-C.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from redis.crc import key_slot

from chaos.backends import make_backend
from chaos.backends.base import NodeStatus
from chaos.checkers.failover import cluster_down, first_promotion, first_rejoin
from chaos.errors import ChaosError
from chaos.faults.iptables import DropLink
from chaos.history import INFO, INVOKE, OK
from chaos.observe.redis_log import parse_redis_log
from chaos.observe.redis_probe import RedisProbe
from chaos.runner import Run, analyze_history, cluster_final_read, iso, merge_run_history, start_load
from chaos.state import StateDir
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig, compare_replicas
from scenarios.base import (
    RunConfig,
    ScenarioRun,
    check,
    copy_node_files,
    load_final_read,
    read_timeline,
    reanalyze,
    report_text,  # noqa: F401  (the scenario's `chaos report`)
    run_options,
    save_final_read,
    sleep_until,
)

NAME = "master-kill"
SUMMARY = "SIGKILL a Redis Cluster master under load: failover, write outage, rejoin, lost writes"
MEASUREMENTS = [
    "failover_seconds", "failover_seconds_from_log", "cluster_down_seconds", "write_unavailable_seconds",
    "rejoin_seconds", "lost_writes", "unacked_applied_writes", "lost_increments",
]
KNOWN = set(MEASUREMENTS) | {"ops.ok", "ops.fail", "ops.info", "consistency.mismatches",
                             "consistency.keys_compared", "recovered_writes", "failed_applied_writes"}


@dataclass
class MasterKillConfig(RunConfig):
    BACKENDS = ("process", "docker")
    masters: int = 3
    replicas_per_master: int = 1
    node_timeout_ms: int = 3000
    base_port: int = 7001
    target: str | None = None
    target_key: str | None = None
    stale_replica: float | None = None  # cut the victim→replica stream this many s before the kill
    failover_timeout: float | None = None
    rejoin_timeout: float = 60.0
    probe_interval_ms: float = 10.0

    def validate(self) -> None:
        super().validate()
        if self.target and self.target_key:
            raise ChaosError("give either --target or --target-key, not both")
        if self.replicas_per_master < 1:
            raise ChaosError("master-kill needs replicas to fail over to: --replicas-per-master must be >= 1")
        if not 1 <= self.probe_interval_ms <= 1000:
            raise ChaosError("--probe-interval-ms must be between 1 and 1000")


def choose_victim(rows: list[dict[str, Any]], config: MasterKillConfig, rng: random.Random) -> dict[str, Any]:
    masters = [r for r in rows if r["role"] == "master" and r["slots"]]
    if config.target:
        for r in rows:
            if config.target in (r["name"], r["address"]):
                if r["role"] != "master":
                    raise ChaosError(f"--target {config.target} is a {r['role'] or 'stopped node'}; master-kill "
                                     f"needs a master: {', '.join(m['name'] for m in masters)}")
                return r
        raise ChaosError(f"--target {config.target}: no such node; nodes are "
                         + ", ".join(f"{r['name']} ({r['address']})" for r in rows))
    if config.target_key:
        slot = key_slot(config.target_key.encode())
        for r in masters:
            for part in r["slots"].split(","):
                lo, _, hi = part.partition("-")
                if int(lo) <= slot <= int(hi or lo):
                    return r
        raise ChaosError(f"no master owns slot {slot} of --target-key {config.target_key!r}")
    return rng.choice(sorted(masters, key=lambda r: r["name"]))


def slot_ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return out


def run_master_kill(state: StateDir, config: MasterKillConfig) -> int:
    provisioned = False
    links: list[DropLink] = []
    with ScenarioRun(NAME, config, KNOWN) as sr:
        run, outcome, seed = sr.run, sr.outcome, sr.seed
        rng = random.Random(seed)
        # 1. the topology: the one that is up, or a new one
        if state.topology("redis-cluster") is None:
            cluster = RedisCluster(state, RedisClusterConfig(config.masters, config.replicas_per_master,
                                                             config.node_timeout_ms, config.base_port),
                                   make_backend(config.backend, state.path))
            run.say(f"starting a Redis Cluster: {config.masters} masters × {config.replicas_per_master} "
                    f"replica(s), cluster-node-timeout {config.node_timeout_ms} ms")
            provisioned = True
            seconds = cluster.up(say=run.say)
            sr.cleanup(sr.teardown, cluster, "cluster")
            run.say(f"cluster up in {seconds:.2f} s")
        else:
            cluster = RedisCluster.attach(state)
            run.say(f"using the redis-cluster already up in {state.path} ({cluster.backend.name} backend)")
            config.backend = cluster.backend.name  # the run reports where its nodes really ran
        sr.cleanup(copy_node_files, cluster.specs, run, ("redis.conf", "nodes.conf", "stdout.log"))
        node_timeout_ms = cluster.config.node_timeout_ms
        # 2. steady state
        problems = cluster.health_problems()
        if problems:
            raise ChaosError(f"steady state not reached: {'; '.join(problems[:3])}; fix it or `chaos down` "
                             "and run again")
        before = cluster.status()
        outcome.topology["before"] = before
        victim = choose_victim(before, config, rng)
        victim_name = victim["name"]
        if not provisioned or config.keep:  # leave the cluster as we found it: the victim running
            sr.cleanup(restart_if_stopped, cluster, victim_name)
        victim_spec = cluster.spec(victim_name)
        victim_slots = slot_ranges(victim["slots"])
        replicas = {r["name"]: r["address"] for r in before if r["follows"] == victim_name}
        if not replicas:
            raise ChaosError(f"{victim_name} has no replica, so no failover can happen")
        watch = sorted(lo for r in before if r["role"] == "master" for lo, _ in slot_ranges(r["slots"]))
        # 3. probes and load
        probe = RedisProbe(cluster.specs, run.dir / "timeline.jsonl", run.t0, run.wall0, watch,
                           interval=config.probe_interval_ms / 1000.0,
                           on_sample=lambda s: run.bus.fire("sample", **s))
        probe.start()
        sr.cleanup(probe.stop)
        run.phase("warmup")
        load_seconds = max(config.duration, config.warmup) + 600  # stopped by us, not by its clock
        load = start_load(run, "redis", config.users, load_seconds, seed=seed, seeds=[s.address for s in cluster.specs],
                          **config.load_options())
        sr.cleanup(load.stop)
        run.say(f"load: {config.users} users; warm-up {config.warmup:g} s; victim {victim_name} "
                f"({victim['address']}, slots {victim['slots']})")
        kill_at_elapsed = run.elapsed() + config.warmup
        if config.stale_replica:
            sleep_until(run, kill_at_elapsed - config.stale_replica, load)
            for replica_name in replicas:  # every replica of the victim goes stale
                link = DropLink(victim_spec.host, victim_spec.port, cluster.spec(replica_name).host)
                links.append(link)
                sr.cleanup(link.heal, state)
                run.fault(INVOKE, "drop-replication", link.describe())
                link.inject(state)
                run.fault(OK, "drop-replication", link.describe())
                run.say(f"replication stream cut: {link.describe()} (the replica goes stale)")
            run.bus.fire("fault", fault="drop-replication", active=True)
        sleep_until(run, kill_at_elapsed, load)
        # 4. the fault
        run.phase("fault")
        kill_mono = run.fault(INVOKE, "kill", victim_name)  # SIGKILL follows at once: the fault's time
        cluster.backend.kill(victim_name)
        run.fault(OK, "kill", victim_name)
        kill_t = run.elapsed(kill_mono)
        run.bus.fire("fault", fault="kill", active=True)
        outcome.fault = {"kind": "kill", "signal": "SIGKILL", "target": victim["address"], "target_name": victim_name,
                         "target_role": "master", "target_slots": victim["slots"],
                         "injected_at": run.wall(kill_mono), "injected_at_iso": iso(run.wall(kill_mono))}
        run.say(f"killed {victim['address']} ({victim_name}, master of {victim['slots']})")
        # 5. failover
        failover_timeout = config.failover_timeout or max(30.0, node_timeout_ms / 1000.0 * 10)
        first_slot = victim_slots[0][0]

        def promoted(latest: dict[str, Any]) -> str | None:
            for name, address in replicas.items():
                s = latest.get(name)
                if s and s.get("up") and s["time"] > kill_t and s.get("role") == "master" \
                        and s.get("owners", {}).get(str(first_slot)) == address:
                    return name
            return None

        new_master = probe.wait_for(promoted, failover_timeout)
        for link in links:
            link.heal(state)
            run.fault(INFO if new_master is None else OK, "heal-replication", link.describe())
        if links:
            run.bus.fire("fault", fault="drop-replication", active=False)
        if new_master is None:
            run.say(f"no replica took over {victim['slots']} within {failover_timeout:g} s")
        else:
            seconds = probe.latest[new_master]["time"] - kill_t
            run.say(f"promoted {replicas[new_master]} ({new_master}) after {seconds:.2f} s")
        run.phase("recovery")
        # 6. restart the old master, wait for it to rejoin as a replica
        run.fault(INVOKE, "restart", victim_name)
        cluster.backend.restart(victim_name)
        restart_mono = run.fault(OK, "restart", victim_name)
        restart_t = run.elapsed(restart_mono)
        cluster.save()
        run.bus.fire("fault", fault="kill", active=False)
        run.say(f"restarted {victim_name} with its data and nodes.conf")
        rejoined = None
        if new_master is not None:
            master_address = replicas[new_master]

            def rejoin(latest: dict[str, Any]) -> bool:
                s = latest.get(victim_name)
                return bool(s and s["time"] > restart_t and s.get("up") and s.get("role") == "replica"
                            and s.get("master") == master_address and s.get("link") == "up")

            rejoined = probe.wait_for(rejoin, config.rejoin_timeout)
            if rejoined:
                run.say(f"{victim_name} rejoined as a replica of {new_master} after "
                        f"{probe.latest[victim_name]['time'] - restart_t:.2f} s")
            else:
                run.say(f"{victim_name} did not rejoin as a replica of {new_master} within {config.rejoin_timeout:g} s")
        # 7. cool-down, then stop the load
        run.phase("cooldown")
        sleep_until(run, max(run.elapsed() + 2.0, config.duration), load)
        load.stop()
        run.say(f"load stopped after {run.elapsed():.1f} s")
        probe.stop()
        merge_run_history(run)
        # 8. verdicts, from the files the run wrote (so `chaos analyze` can recompute them)
        outcome.topology["after"] = cluster.status()
        run.say("final read of every key written; comparing masters with their replicas")
        append_timeline(run.dir / "timeline.jsonl", server_events(cluster, run, kill_t))
        outcome.context = {
            "victim": victim_name, "victim_slots": victim_slots, "replicas": replicas, "first_slot": first_slot,
            "kill_t": kill_t, "restart_t": restart_t, "phases": run.phases, "node_timeout_ms": node_timeout_ms,
            "rejoin_timeout": config.rejoin_timeout,
        }
        live_read = cluster_final_read([s.address for s in cluster.specs])

        def read_and_keep(keys: set[str]) -> dict[str, Any]:
            final = live_read(keys)
            save_final_read(run.dir / FINAL_READ, final)
            return final

        live = {"consistency": compare_replicas(cluster), "probe_samples": probe.samples}
        outcome.measurements, outcome.checks = measure(run.dir, outcome.context, read_and_keep, live)
    return sr.conclude(MEASUREMENTS)


FINAL_READ = "final-read.jsonl"


def measure(run_dir: Path, ctx: dict[str, Any], read_final: Callable[[set[str]], dict[str, Any]],
            live: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Measurements and checks from the run directory's history and timeline, the final read,
    and what could only be measured live (``consistency``)."""
    kill_t, restart_t, victim = ctx["kill_t"], ctx["restart_t"], ctx["victim"]
    victim_slots = [tuple(r) for r in ctx["victim_slots"]]

    def group(op: Any) -> str | None:
        slot = key_slot(op.key.encode())
        return "victim" if any(lo <= slot <= hi for lo, hi in victim_slots) else "others"

    analysis = analyze_history(run_dir / "history.jsonl", read_final, group, [tuple(p) for p in ctx["phases"]])
    samples = read_timeline(run_dir / "timeline.jsonl")
    promotion = first_promotion(samples, ctx["replicas"], ctx["first_slot"], after=kill_t)
    rejoin_t = first_rejoin(samples, victim, promotion["address"], restart_t) if promotion else None
    server_view = [{**e, "after_fault": round(e["time"] - kill_t, 6)} for e in samples if e.get("source") == "log"]
    won = next((e for e in server_view if e["event"] == "election_won"
                and promotion and e["node"] == promotion["node"]), None)
    avail = analysis.availability
    lost_keys = analysis.writes.pop("lost_keys")
    (run_dir / "lost-writes.txt").write_text("".join(f"{k}\n" for k in lost_keys))
    consistency = live["consistency"]
    m: dict[str, Any] = {
        "failover_seconds": round(promotion["time"] - kill_t, 6) if promotion else None,
        "failover_seconds_from_log": round(won["after_fault"], 6) if won else None,
        "promoted": promotion["address"] if promotion else None,
        "cluster_down_seconds": cluster_down(samples)["cluster_down_seconds"],
        "write_unavailable_seconds": avail.get("victim", {}).get("longest_unavailable_seconds"),
        "write_unavailable_seconds_other_slots": avail.get("others", {}).get("longest_unavailable_seconds"),
        "rejoin_seconds": round(rejoin_t - restart_t, 6) if rejoin_t is not None else None,
        "lost_writes": analysis.writes["lost"],
        "unacked_applied_writes": analysis.writes["unacked_applied"],
        "recovered_writes": analysis.writes["recovered"],
        "failed_applied_writes": analysis.writes["failed_applied"],
        "lost_increments": analysis.counters["lost_increments"],
        "unacked_applied_increments": analysis.counters["unacked_applied_increments"],
        "node_timeout_ms": ctx["node_timeout_ms"],
        "ops": analysis.ops,
        "latency_ms": analysis.latency,
        "writes": analysis.writes,
        "counters": {k: v for k, v in analysis.counters.items() if k != "per_key"},
        "availability": avail,
        "consistency": consistency,
        "server_view": server_view,
        "probe_samples": live.get("probe_samples"),
    }
    if rejoin_t is None:
        m["rejoin_reason"] = ("no replica was promoted" if not promotion else
                              f"{victim} was not a linked replica of {promotion['node']} within "
                              f"{ctx['rejoin_timeout']:g} s of its restart")
    checks = [
        check("failover_happened", promotion is not None, m["failover_seconds"]),
        check("old_master_rejoined_as_replica", rejoin_t is not None, m["rejoin_seconds"]),
        check("replicas_consistent", consistency["consistent"], consistency["mismatches"], "==0"),
    ]
    return m, checks


def reanalyze_run(run_dir: Path, slos: list[str]) -> int:
    return reanalyze(run_dir, slos, KNOWN, MEASUREMENTS, analyze)


def analyze(run_dir: Path, result: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Recompute a finished run's verdict from its files (`chaos analyze RUN_DIR`)."""
    stored = load_final_read(run_dir / FINAL_READ)
    return measure(run_dir, result["context"], lambda keys: stored, result["measurements"])


def restart_if_stopped(cluster: RedisCluster, name: str) -> None:
    if cluster.backend.status(name) == NodeStatus.STOPPED:
        cluster.backend.restart(name)
        cluster.save()






def append_timeline(path: Any, events: list[dict[str, Any]]) -> None:
    with open(path, "a") as out:
        for e in events:
            out.write(json.dumps({"source": "log", **e}, separators=(",", ":")) + "\n")


def server_events(cluster: RedisCluster, run: Run, fault_t: float) -> list[dict[str, Any]]:
    """The nodes' own log lines about the failover (from a second before the fault), in run time."""
    events = []
    for spec in cluster.specs:
        try:
            lines = spec.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for e in parse_redis_log(lines, spec.name):
            t = e["wall"] - run.wall0
            if t >= fault_t - 1.0:
                events.append({**e, "time": round(t, 6)})
    return sorted(events, key=lambda e: e["time"])




@click.command(NAME, help=f"""{SUMMARY}.

Stands up a 3-master, 3-replica cluster unless one is up (`chaos up redis-cluster`), drives
load through it, kills a master (seeded random choice, or --target / --target-key), waits for
the failover, restarts the old master and waits until it is a replica, then reads back every
key and compares every master with its replicas. Writes runs/master-kill-<UTC>/ (result.json,
history.jsonl, timeline.jsonl, metrics.prom, report.md, nodes/).

\b
Examples:
  chaos run master-kill
  chaos run master-kill --node-timeout-ms 1000 --duration 20 --slo 'failover_seconds<=5'
  chaos run master-kill --target redis-2 --metrics-port 9464 --keep
  chaos run master-kill --stale-replica 2 --slo 'lost_writes==0'   # provoke lost writes

Exit codes: 0 all checks passed, 1 a check failed, 2 bad input or environment, 130 interrupted.
""")
@run_options(users=20, rate=None, rate_help="Target ops/s over all users, paced (default: unpaced).",
             what="a cluster", backends=("process", "docker"))
@click.option("--node-timeout-ms", default=3000, show_default=True, help="cluster-node-timeout of a "
              "cluster this run starts.")
@click.option("--masters", default=3, show_default=True, help="Masters of a cluster this run starts.")
@click.option("--replicas-per-master", default=1, show_default=True, help="Replicas per master.")
@click.option("--base-port", default=7001, show_default=True, help="First port of a cluster this run starts.")
@click.option("--target", default=None, help="Master to kill: node name (redis-2) or HOST:PORT.")
@click.option("--target-key", default=None, help="Kill the master that owns this key's slot.")
@click.option("--stale-replica", type=float, default=None, metavar="SECONDS",
              help="Drop the victim→replica replication stream (iptables) SECONDS before the kill until the "
              "promotion: the replica takes over stale and acknowledged writes are lost.")
@click.option("--failover-timeout", type=float, default=None, help="Seconds to wait for the promotion "
              "[default: max(30, 10 × node timeout)].")
@click.option("--rejoin-timeout", default=60.0, show_default=True, help="Seconds to wait for the old master to rejoin.")
@click.option("--probe-interval-ms", default=10.0, show_default=True, help="How often every node is sampled.")
@click.pass_obj
def command(state: StateDir, **options: Any) -> None:
    options["slo"] = list(options["slo"])
    code = run_master_kill(state, MasterKillConfig(**options))
    raise SystemExit(code)
