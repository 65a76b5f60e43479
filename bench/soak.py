"""A long run: the harness's resident memory, the history's bytes a record, and the run
directory's growth per hour.

    .venv/bin/python bench/soak.py [--scenario master-kill|soak] [--duration 600] [--base-port 7701]
        [--interval 40s±15s] [--overlap 0] [--seed 1] [--keep DIR]

Runs `chaos run master-kill --duration N` (or `chaos run soak`: kill, pause and partition episodes
every 40 s ± 15 s at node timeout 1000 ms) as a child process (a cluster of its own, torn down
after), samples the harness process's resident memory (VmRSS, every 0.5 s; the load processes are
separate and not counted) and prints the peak against the 300 MB target and the growth from the
second minute to the end of the load (target: within 10 %), then the history's records and bytes
a record on disk against the 30 B target, and the run directory's bytes, by file, per hour of
load against the 200 MB target. A benchmark, not a test: it takes the run's duration plus about a
minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def dir_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` now (files may vanish while it counts: shards merged)."""
    total = 0
    for p in path.rglob("*"):
        try:
            total += p.stat().st_size if p.is_file() else 0
        except OSError:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=("master-kill", "soak"), default="master-kill")
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--base-port", type=int, default=7701)
    parser.add_argument("--keep", metavar="DIR", help="write the run directory here and keep it (default: a temporary one)")
    parser.add_argument("--interval", default="40s±15s", help="soak: time between episodes (MEAN±JITTER)")
    parser.add_argument("--overlap", default="0", help="soak: probability of a second episode during one")
    parser.add_argument("--seed", default="1", help="soak: the schedule's seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chaos-soak-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp) / "run"
        cmd = [str(ROOT / ".venv/bin/chaos"), "--state-dir", str(Path(tmp) / "state"), "run", args.scenario,
               "--duration", str(args.duration), "--base-port", str(args.base_port), "--out", str(out)]
        if args.scenario == "soak":
            cmd += ["--node-timeout-ms", "1000", "--faults", "kill,pause,partition", "--interval", args.interval,
                    "--overlap", args.overlap, "--seed", args.seed]
        started = time.monotonic()
        # the run's progress goes to a file: a pipe nobody reads fills (64 KB, about 15 minutes of
        # progress lines) and then blocks the harness in the middle of its faults
        log = open(Path(tmp) / "run.log", "w+")
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, text=True)
        samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        disk_peak, disk_at = 0, 0.0  # the run directory's largest size while it ran (plain shards, timeline)
        while child.poll() is None:
            samples.append((time.monotonic() - started, rss_mb(child.pid) or 0.0))
            if len(samples) % 10 == 0 and out.exists():
                size = dir_bytes(out)
                if size > disk_peak:
                    disk_peak, disk_at = size, time.monotonic() - started
            time.sleep(0.5)
        wall = time.monotonic() - started
        peak = max((mb for _, mb in samples), default=0.0)
        # the load phase (cluster up, warm-up, fault, load) against what follows (merge, checkers,
        # final read, charts), and the load phase's first and last minute: flat memory shows here
        loading = [mb for t, mb in samples if t <= args.duration]
        first = [mb for t, mb in samples if t <= 60]
        last = [mb for t, mb in samples if args.duration - 60 < t <= args.duration]
        if child.returncode not in (0, 1):
            log.seek(0)
            sys.exit(f"the run failed (exit {child.returncode}): {log.read()[-500:]}")
        summary = subprocess.run([str(ROOT / ".venv/bin/chaos"), "history", str(out)], capture_output=True,
                                 text=True, check=True).stdout.strip()
        records = int(summary.split(": ")[1].split(" records")[0])
        per_record = float(summary.split(", ")[-1].split(" bytes")[0])
        verdict = json.loads((out / "result.json").read_text())["passed"]
        # where the measuring went, by when each file was last written
        stages = [("load-seconds.jsonl", "load stopped"), ("history.jsonl.zst", "replicas compared and history merged"),
                  ("lost-writes.txt", "checkers and final read"), ("result.json", "verdict written"),
                  ("charts/index.json", "charts drawn"), ("metrics.prom", "reports written"),
                  ("timeline.jsonl.zst", "timeline and final read compressed")]
        times = [(label, (out / name).stat().st_mtime) for name, label in stages if (out / name).exists()]
        steps = ", ".join(f"{label} +{t - prev:.0f} s" for (label, t), (_, prev) in zip(times[1:], times))
        sizes = sorted(((p.stat().st_size, str(p.relative_to(out))) for p in out.rglob("*") if p.is_file()),
                       reverse=True)
        episodes = len(json.loads((out / "result.json").read_text())["measurements"].get("episodes") or [])
    steady_mem = [mb for t, mb in samples if 120 <= t <= args.duration]
    total = sum(n for n, _ in sizes)
    per_hour = total * 3600 / args.duration / 1e6
    print(f"{args.scenario} --duration {args.duration:g}: {wall:.0f} s, passed={verdict}")
    print(f"harness peak resident memory {peak:.0f} MB; ratio to the 300 MB target: {peak / 300:.2f}")
    print(f"  during the load: peak {max(loading, default=0):.0f} MB (first minute {max(first, default=0):.0f}, last "
          f"minute {max(last, default=0):.0f}); measuring and reports after it: peak "
          f"{max((mb for t, mb in samples if t > args.duration), default=0):.0f} MB, {wall - args.duration:.0f} s")
    print(f"  after the load: {steps}")
    print(f"history {records:,} records, {per_record:.1f} bytes a record; ratio to the 30 B target: "
          f"{per_record / 30:.2f}")
    if steady_mem:
        print(f"memory from minute 2 to the end of the load: {steady_mem[0]:.0f} → {steady_mem[-1]:.0f} MB (max "
              f"{max(steady_mem):.0f}); growth ratio {max(steady_mem) / max(steady_mem[0], 1e-9):.2f} (target ≤ 1.10)")
    print(f"run directory {total / 1e6:.1f} MB ({episodes} episodes): {per_hour:.0f} MB per hour of load; ratio to the "
          f"200 MB target: {per_hour / 200:.2f}")
    print(f"  while it ran: at most {disk_peak / 1e6:.1f} MB ({disk_at:.0f} s in: plain load shards and timeline)")
    for n, name in sizes[:6]:
        print(f"  {name}: {n / 1e6:.2f} MB ({n * 3600 / args.duration / 1e6:.0f} MB/h)")


if __name__ == "__main__":
    main()
