"""What TLS costs a MySQL/MariaDB run's load, in one run: the same workload against a plain pair
and a TLS-only pair (`chaos up mysql-replication --tls`), alternated, and the ratios.

    .venv/bin/python bench/tls_mysql.py [--seconds 15] [--users 8] [--rounds 2] [--base-port 3567]

Each round starts a plain pair, then a TLS pair (state in a temp dir, ports BASE and BASE+1),
runs `chaos load mysql` unpaced for SECONDS with USERS users (one load process, every attempt
recorded; with --tls every connection verifies the server's certificate), and tears it down.
Prints acknowledged ops/s and p99 per round and the TLS ÷ plain ratios of the medians. A
benchmark, not a test: it takes about rounds × 2 × (SECONDS + 15) s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAOS = str(ROOT / ".venv/bin/chaos")


def one(tmp: Path, name: str, tls: bool, args: argparse.Namespace) -> tuple[float, float]:
    state = tmp / f"state-{name}"
    base = ["--state-dir", str(state)]
    up = [CHAOS, *base, "up", "mysql-replication", "--base-port", str(args.base_port)] + (["--tls"] if tls else [])
    subprocess.run(up, check=True, capture_output=True, text=True)
    try:
        out = tmp / name
        subprocess.run([CHAOS, *base, "load", "mysql", "--duration", str(args.seconds), "--users", str(args.users),
                        "--out", str(out)], check=True, capture_output=True, text=True)
        summary = json.loads((out / "summary.json").read_text())
        return summary["ops"]["ok"] / args.seconds, summary["latency_ms"]["load"]["p99"]
    finally:
        subprocess.run([CHAOS, *base, "down"], check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base-port", type=int, default=3567)
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float]]] = {"plain": [], "tls": []}
    with tempfile.TemporaryDirectory(prefix="chaos-tls-") as tmp:
        for r in range(args.rounds):
            for mode in ("plain", "tls"):
                ops, p99 = one(Path(tmp), f"{mode}-{r}", mode == "tls", args)
                figures[mode].append((ops, p99))
                print(f"round {r + 1} {mode:5}: {ops:7.0f} acknowledged ops/s, p99 {p99:.2f} ms", flush=True)
    med = {m: (statistics.median(o for o, _ in v), statistics.median(p for _, p in v)) for m, v in figures.items()}
    print(f"TLS ÷ plain, medians of {args.rounds}: ops/s {med['tls'][0] / med['plain'][0]:.2f}, "
          f"p99 {med['tls'][1] / med['plain'][1]:.2f} ({args.users} users, one load process, unpaced)")


if __name__ == "__main__":
    sys.exit(main())
