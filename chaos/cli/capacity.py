"""`chaos plan redis`: capacity planning."""

from __future__ import annotations

from typing import Any

import click

from chaos.cli.root import cli, say
from chaos.cli.topology import render_table
from chaos.errors import ChaosError
from chaos.state import StateDir


@cli.group()
def plan() -> None:
    """Capacity planning from measurements taken on this machine."""


@plan.command("redis")
@click.option("--peak-ops", type=float, required=True, help="Peak operations per second the cluster must carry.")
@click.option("--read-share", default=0.3, show_default=True, help="Share of reads in the load.")
@click.option("--p99-ms", default=2.0, show_default=True, help="p99 latency bound of one master (ms).")
@click.option("--keys", type=int, default=None, help="Keys in the dataset [default: 100000, or the sampled "
              "cluster's count].")
@click.option("--value-bytes", default=100, show_default=True, help="Size of a value (memory per key is measured).")
@click.option("--sample", default=None, metavar="redis://HOST:PORT",
              help="Measure memory per key (MEMORY USAGE) and count keys on a real cluster (loopback only).")
@click.option("--growth", default=0.3, show_default=True, help="Growth to plan for, on the peak and the dataset.")
@click.option("--headroom", default=0.3, show_default=True, help="Share of a master's memory kept free.")
@click.option("--cpu-target", default=0.8, show_default=True,
              help="Cores of a master's main thread the plan may use (the managed services' rule: 0.8).")
@click.option("--masters", "masters_text", default="3,4,5,6", show_default=True, help="Master counts to tabulate.")
@click.option("--max-memory", default=None, help="Memory budget of one master, e.g. 4gb [default: 25 % of RAM].")
@click.option("--step-seconds", default=5.0, show_default=True, help="Seconds of each load step.")
@click.option("--workers", default=1, show_default=True, help="Load processes (Locust master/worker mode when >1).")
@click.option("--base-port", default=7401, show_default=True, help="Port of the planning cluster's first node.")
@click.option("--verify", is_flag=True, help="Then offer --peak-ops to the recommended master count and to one "
              "fewer (valkey-benchmark --rps from the chaos/valkey:9.1 image, open loop; needs --backend docker's "
              "engine) and set measured throughput, p99 and CPU beside the prediction.")
@click.option("--verify-seconds", default=10.0, show_default=True, help="Seconds of load of each --verify run.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: runs/plan-redis-<UTC timestamp>].")
@click.pass_obj
def plan_redis(state: StateDir, masters_text: str, max_memory: str | None, **options: Any) -> None:
    """How many masters a peak and a dataset need, from what one master carries here.

    Starts one master of its own (never the cluster that is up) and measures memory per key.
    Then the server's knee: redis-benchmark (a C client, closed loop) at doubling concurrency,
    each step recording throughput, the client-observed p99, the server's own p99 (INFO
    latencystats), and the CPU of the server's main thread and of redis-benchmark, until the
    p99 passes --p99-ms or throughput plateaus. The knee is the step of highest throughput
    within the bound; it is the server's only with evidence (main thread ≥ 0.7 of a core, or a
    plateau), and without it no master count is recommended. Beside it, the harness's own
    recorder at paced, rising rates. Then it moves 1024 slots to a second master under load to
    measure the migration rate, and projects one row per master count (ops/s per master,
    predicted p99 and main-thread CPU, memory, whether it fits, whether scaling in to it is
    safe, time to reshard into it). The recommendation: the largest of the throughput bound (at
    --cpu-target of the main thread), the memory bound and 3. Writes plan.json, plan.md and
    plan.svg.

    \b
    Examples:
      chaos plan redis --peak-ops 50000
      chaos plan redis --peak-ops 50000 --verify
      chaos plan redis --peak-ops 200000 --keys 50000000 --value-bytes 512 --max-memory 8gb
    """
    from chaos.capacity import parse_bytes
    from chaos.capacity_measure import PlanConfig, Planner

    try:
        masters = [int(x) for x in masters_text.split(",") if x.strip()]
    except ValueError:
        raise ChaosError(f"--masters {masters_text!r}: give master counts separated by commas, e.g. 3,4,5,6") from None
    config = PlanConfig(masters=masters, max_memory=parse_bytes(max_memory) if max_memory else None, **options)
    planner = Planner(state, config, say)
    result = planner.run()
    click.echo(render_plan_table(result))
    click.echo(f"plan: {planner.dir / 'plan.json'} (and plan.md, plan.svg)")


def render_plan_table(plan: dict[str, Any]) -> str:
    rows = [{**r, "memory_per_master": f"{r['memory_per_master_bytes'] / 1e6:.1f} MB",
             "fits": "yes" if r["fits"] else "no", "scale_in_to_safe": "yes" if r["scale_in_to_safe"] else "no"}
            for r in plan["rows"]]
    table = render_table(rows, ["masters", "ops_per_master", "share_of_knee", "predicted_p99_ms", "predicted_server_cpu",
                                "memory_per_master", "fits", "scale_in_to_safe", "slots_to_move", "reshard_seconds"])
    from chaos.capacity_measure import cross_check_line, knee_line, recommendation_line

    verified = ""
    for v in plan.get("verification") or []:
        verified += (f"\nverified: {v['masters']} master(s) carried {v['measured_ops']:.0f} of {v['offered_ops']:.0f} "
                     f"ops/s offered ({v['throughput_ratio']}), p99 {v['measured_p99_ms']} ms (predicted "
                     f"{v['predicted_p99_ms']}), busiest main thread {v['measured_main_thread_cores']} cores (predicted "
                     f"{v['predicted_main_thread_cores']}): {'holds' if v['holds'] else 'does NOT hold'}")
    return (f"{table}\n{knee_line(plan)}\n{cross_check_line(plan)}\n{plan['bytes_per_key']:.0f} B per key; migration "
            f"{plan['migration_keys_per_second']} keys/s under load\n"
            + recommendation_line(plan).replace("**", "") + verified)
