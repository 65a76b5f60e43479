"""`chaos load redis`: load alone against the cluster that is up, then a summary."""

from __future__ import annotations

from chaos.errors import ChaosError
from chaos.progress import Progress
from chaos.runner import (
    Run,
    analyze_redis,
    cluster_final_read,
    make_run_dir,
    merge_run_history,
    redis_load,
    write_json,
)
from chaos.state import StateDir
from chaos.topology.redis_cluster import RedisCluster


def run_redis_load(state: StateDir, duration: float, users: int, rate: float | None, seed: int,
                   out: str | None, workers: int = 1, master_bind: str = "127.0.0.1",
                   master_port: int = 5557) -> str:
    cluster = RedisCluster.attach(state)
    problems = cluster.health_problems()
    if problems:
        raise ChaosError(f"the redis-cluster is not healthy ({problems[0]}); see `chaos status`")
    run = Run("load-redis", make_run_dir("load-redis", out))
    progress = Progress().attach(run.bus)
    seeds = [s.address for s in cluster.specs]
    run.say(f"load: {users} users for {duration:g} s against {len(seeds)} nodes"
            + (f", paced at {rate:g} ops/s" if rate else ""))
    controller = redis_load(run, seeds, users, duration, rate, seed, workers=workers,
                            master_bind=master_bind, master_port=master_port)
    if workers > 1:
        run.say(f"{workers} load workers via Locust master/worker on {master_bind}:{master_port}; a worker on "
                f"another machine: {' '.join(controller.worker_command(workers, '<this host>'))}")
    try:
        controller.wait(duration + 30)
    finally:
        controller.stop()
        progress.close()
    history = merge_run_history(run)
    run.say("reading back every key written")
    analysis = analyze_redis(history, cluster_final_read(seeds), lambda op: None, [("load", 0.0)])
    analysis.writes.pop("lost_keys")
    summary = {"ops": analysis.ops, "writes": analysis.writes, "counters": {
        k: v for k, v in analysis.counters.items() if k != "per_key"}, "latency_ms": analysis.latency}
    write_json(run.dir / "summary.json", summary)
    ops = analysis.ops
    seconds = [s for s in controller.seconds if s.get("ok", 0) + s.get("fail", 0) + s.get("info", 0)]
    rate_seen = (ops["ok"] + ops["fail"] + ops["info"]) / max(duration, 1e-9)
    lat = analysis.latency["load"]
    w = analysis.writes
    return (f"ops: {ops['ok']} ok, {ops['fail']} fail, {ops['info']} info over {len(seconds)} s "
            f"({rate_seen:.0f} ops/s); latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, "
            f"max {lat['max']} ms\n"
            f"writes: {w['acknowledged']} acknowledged, {w['lost']} lost, {w['unacked_applied']} "
            f"applied without acknowledgement; counters: "
            f"{analysis.counters['lost_increments']} lost increments\n"
            f"run directory: {run.dir}")
