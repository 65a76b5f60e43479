"""Load generator throughput against redis-benchmark, in one run, same cluster, same concurrency.

    .venv/bin/python bench/loadgen_throughput.py [--users 50] [--seconds 10] [--baseline]

Stands up its own 3+3 cluster (ports 7401…, state in a temp dir), runs redis-benchmark
(--cluster, no pipelining, -c USERS) for SET, GET and INCR, then the harness's Redis workload
(one load process, USERS users, every attempt recorded), and prints ops/s and the ratio per
load process. The mix is 60% SET, 30% GET, 10% INCR; redis-benchmark's figure for that mix is
the weighted harmonic mean of its per-command rates. --baseline adds Locust + redis-py's
RedisCluster on the same mix (the "as the libraries come" figure).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaos.runner import Run, start_load  # noqa: E402
from chaos.state import StateDir  # noqa: E402
from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig  # noqa: E402

MIX = {"SET": 0.6, "GET": 0.3, "INCR": 0.1}


def redis_benchmark(seed: str, users: int, requests: int) -> dict[str, float]:
    host, _, port = seed.rpartition(":")
    out = subprocess.run(
        ["redis-benchmark", "--cluster", "-h", host, "-p", port, "-c", str(users), "-n", str(requests),
         "-t", "set,get,incr", "--csv"], capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    rates = {}
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] in MIX:
            rates[row[0]] = float(row[1])
    return rates


def harness(cluster: RedisCluster, users: int, seconds: float, workdir: Path) -> float:
    run_dir = workdir / "run"
    run_dir.mkdir()
    run = Run("bench", run_dir)
    controller = start_load(run, "redis", users, seconds + 2, seeds=[s.address for s in cluster.specs])
    controller.wait(seconds + 60)
    steady = controller.seconds[1:-1]  # drop process start-up and the last partial second
    return sum(s["ok"] for s in steady) / max(1, len(steady))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
        workdir = Path(tmp)
        cluster = RedisCluster(StateDir(workdir / "state"), RedisClusterConfig(base_port=7401))
        cluster.up()
        try:
            seed = cluster.specs[0].address
            rates = redis_benchmark(seed, args.users, args.requests)
            mix_rate = 1.0 / sum(share / rates[cmd] for cmd, share in MIX.items())
            ours = harness(cluster, args.users, args.seconds, workdir)
            print(f"redis-benchmark --cluster -c {args.users}: " + ", ".join(
                f"{cmd} {rate:,.0f}/s" for cmd, rate in rates.items()) + f"; 60/30/10 mix {mix_rate:,.0f}/s")
            print(f"harness Redis workload, 1 load process, {args.users} users, recorded: {ours:,.0f} ops/s")
            print(f"ratio per load process: {ours / mix_rate:.3f}; ratio to the 0.30 target: {ours / mix_rate / 0.30:.2f}")
            if args.baseline:
                base = json.loads(subprocess.run(
                    [sys.executable, "-m", "loadgen.redispy_baseline", seed, str(args.users),
                     str(args.seconds)], capture_output=True, text=True, check=True, timeout=300,
                ).stdout.strip().splitlines()[-1])["ops_per_second"]
                print(f"baseline Locust + redis-py RedisCluster, not recorded: {base:,.0f} ops/s, "
                      f"ratio {base / mix_rate:.3f}; harness/baseline {ours / base:.1f}x, ratio to the 5x target: "
                      f"{ours / base / 5:.2f}")
        finally:
            cluster.down()


if __name__ == "__main__":
    t = time.monotonic()
    main()
    print(f"(benchmark took {time.monotonic() - t:.0f} s)")
