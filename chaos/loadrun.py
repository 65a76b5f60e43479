"""`chaos load redis|mysql`: load alone against the topology that is up, then a summary."""

from __future__ import annotations

from typing import Any

from chaos.checkers.writes import ReadBatch
from chaos.errors import ChaosError
from chaos.progress import Progress
from chaos.runner import (
    ClusterFinalRead,
    Run,
    analyze_history,
    make_run_dir,
    merge_run_history,
    start_load,
    write_json,
)
from chaos.state import StateDir


def _redis_target(state: StateDir) -> tuple[dict[str, Any], dict[str, str], ReadBatch, str, str]:
    from chaos.topology.kinds import load_topology

    cluster = load_topology(state, "redis-cluster")
    problems = cluster.health_problems()
    if problems:
        raise ChaosError(f"the redis-cluster is not healthy ({problems[0]}); see `chaos status`")
    seeds = [s.address for s in cluster.specs]
    return {"seeds": seeds}, {}, ClusterFinalRead(seeds), "write", f"{len(seeds)} Redis nodes"


def _mysql_target(state: StateDir) -> tuple[dict[str, Any], dict[str, str], ReadBatch, str, str]:
    from chaos.topology.kinds import load_topology
    from chaos.topology.mysql_compare import row_reader
    from chaos.topology.mysql_replication import ADMIN_USER
    from loadgen.mysql_workload import SCHEMA

    topo = load_topology(state, "mysql-replication")
    conn = topo.admin(topo.source)
    with conn.cursor() as cur:
        for statement in SCHEMA:
            cur.execute(statement)
    conn.close()
    source = topo.source
    return ({"mysql": {"host": source.host, "port": source.port, "user": ADMIN_USER, "tls": topo.client_tls()}},
            {"CHAOS_MYSQL_PASSWORD": topo.secrets["admin"]},
            row_reader(topo, source), "insert", f"the MySQL source {source.address}")


def run_load(state: StateDir, workload: str, duration: float, users: int, rate: float | None, seed: int,
             out: str | None, workers: int = 1, master_bind: str = "127.0.0.1", master_port: int = 5557) -> str:
    target, env, read_final, write_f, what = (_redis_target if workload == "redis" else _mysql_target)(state)
    name = f"load-{workload}"
    run = Run(name, make_run_dir(name, out))
    progress = Progress().listen(run.events)
    run.say(f"load: {users} users for {duration:g} s against {what}" + (f", paced at {rate:g} ops/s" if rate else ""))
    controller = start_load(run, workload, users, duration, rate, seed, env=env, workers=workers, state=state,
                            master_bind=master_bind, master_port=master_port, **target)
    if workers > 1:
        run.say(f"{workers} load workers via Locust master/worker on {master_bind}:{master_port}; a worker on "
                f"another machine: {' '.join(controller.worker_command(workers, '<this host>'))}")
    try:
        controller.wait(duration + 30)
    finally:
        controller.stop()
        progress.close()
    history = merge_run_history(run)
    run.say("reading back every row/key written")
    try:
        analysis = analyze_history(history, read_final, lambda op: None, [("load", 0.0)], write_f=write_f)
    finally:
        getattr(read_final, "close", lambda: None)()
    analysis.writes.pop("lost_keys")
    summary = {"ops": analysis.ops, "writes": analysis.writes, "counters": {
        k: v for k, v in analysis.counters.items() if k != "per_key"}, "latency_ms": analysis.latency}
    write_json(run.dir / "summary.json", summary)
    ops = analysis.ops
    rate_seen = (ops["ok"] + ops["fail"] + ops["info"]) / max(duration, 1e-9)
    lat = analysis.latency["load"]
    w = analysis.writes
    lines = [
        f"ops: {ops['ok']} ok, {ops['fail']} fail, {ops['info']} info ({rate_seen:.0f} ops/s); "
        f"latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms",
        f"writes: {w['acknowledged']} acknowledged, {w['lost']} lost, {w['unacked_applied']} applied "
        "without acknowledgement" + (f"; counters: {analysis.counters['lost_increments']} lost increments"
                                     if analysis.counters["counters"] else ""),
        f"run directory: {run.dir}",
    ]
    return "\n".join(lines)
