"""How far `chaos plan redis` is from an independent redis-benchmark, and its migration rate from
a scale-out's, measured in one run on this machine.

    .venv/bin/python bench/capacity_knee.py [--peak-ops 50000] [--runs 1] [--scale-out] [--keys 200000]

Each run: `chaos plan redis --peak-ops PEAK` in a state dir of its own; prints the knee (the
median of three redis-benchmark steps at the knee's concurrency), the cross-check (the median of
three at redis-benchmark's default -c 50, on the same master, right after), their ratio (the
target is 0.75–1.33), the server's main thread CPU at the knee (target ≥ 0.7 of a core), the
recommendation and the migration rate under load. With --scale-out, then a short `chaos run
scale-out` and the ratio of the plan's migration rate to the scale-out's keys_per_second (target
0.75–1.33). The machines here are shared (steal time): compare within one run, never against a
number from another day.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def chaos(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos", "--state-dir", str(state), *args], capture_output=True,
                          text=True, cwd=ROOT, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-ops", type=float, default=50_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--scale-out", action="store_true")
    parser.add_argument("--keys", type=int, default=200_000, help="the dataset: the plan's --keys and the "
                        "scale-out's --preload-keys (keys per slot set the migration rate)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
        state = Path(tmp) / "state"
        rates = []
        for i in range(args.runs):
            out = Path(tmp) / f"plan-{i}"
            done = chaos(state, "plan", "redis", "--peak-ops", f"{args.peak_ops:g}", "--keys", str(args.keys),
                         "--out", str(out))
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
            plan = json.loads((out / "plan.json").read_text())
            check = plan["cross_check"]
            ratio = plan["knee_ops_per_master"] / check["achieved"]
            rates.append(plan["migration_keys_per_second"])
            print(f"run {i + 1}: knee {plan['knee_ops_per_master']:.0f} ops/s at -c {plan['knee_concurrency']} "
                  f"(client p99 {plan['client_p99_at_knee_ms']} ms, server p99 {plan['server_p99_at_knee_ms']} ms, "
                  f"main thread {plan['server_cpu_at_knee']} cores); redis-benchmark -c 50: {check['achieved']:.0f} "
                  f"ops/s (p99 {check['client_p99_ms']} ms); ratio {ratio:.2f} (target 0.75–1.33); recorder "
                  f"{plan['recorder_knee_ops']:.0f} ops/s; recommended {plan['recommended_masters']} masters for "
                  f"{args.peak_ops:.0f} ops/s; migration {plan['migration_keys_per_second']} keys/s under load")
        if args.scale_out:
            out = Path(tmp) / "scale-out"
            done = chaos(state, "run", "scale-out", "--duration", "20", "--warmup", "3", "--preload-keys", str(args.keys),
                         "--out", str(out))
            result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else None
            if result is None:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
            scale = result["measurements"]["keys_per_second"]
            mean = sum(rates) / len(rates)
            print(f"scale-out: {scale} keys/s under its load; the plan's {mean:.0f} keys/s is {mean / scale:.2f} of it "
                  "(target 0.75–1.33)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
