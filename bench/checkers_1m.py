"""Checkers over a synthetic 1,000,000-operation history: time and peak memory.

    .venv/bin/python bench/checkers_1m.py [--ops 1000000] [--from-file]

The history (2 records per operation: invoke + completion; 60% writes, 30% reads, 10%
increments over 50 processes, 2% fail, 0.5% info, a nemesis kill in the middle) is generated
on the fly; --from-file first writes it as a load process does (plain JSON lines), merges it
into the compressed history a finished run keeps (history.jsonl.zst), prints its bytes per
record, and times the checkers reading it back, as `chaos analyze` does. Targets: 3 s and
150 MB over the operations, at most 30 bytes a record on disk. In memory, it also times the same
pass with the latency chart's series gathered too, as a run's pass does.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaos.checkers import run  # noqa: E402
from chaos.checkers.availability import AvailabilityChecker  # noqa: E402
from chaos.checkers.counts import OpCounter  # noqa: E402
from chaos.checkers.latency import LatencyChecker, LatencySeries  # noqa: E402
from chaos.checkers.writes import CounterChecker, WriteSetChecker  # noqa: E402
from chaos.history import HISTORY_FILE, HistoryWriter, Op, merge_histories, read_history  # noqa: E402

PROCESSES = 50


def synthetic(ops: int, seed: int = 1) -> Iterator[Op]:
    rng = random.Random(seed)
    t = 0.0
    index = 0
    seq = [0] * PROCESSES
    for n in range(ops):
        p = n % PROCESSES
        t += 0.00005
        r = rng.random()
        if r < 0.6:
            f, key, value = "write", f"chaos:{{t{n % 1024}}}:run:{p}:{seq[p]}", f"{p}:{seq[p]}"
            seq[p] += 1
        elif r < 0.9:
            f, key, value = "read", f"chaos:{{t{n % 1024}}}:run:{p}:{max(0, seq[p] - 1)}", None
        else:
            f, key, value = "incr", f"chaos:{{t{n % 16}}}:run:ctr:{n % 16}", None
        yield Op(index, t, 1.7e9 + t, "invoke", p, f, key, value)
        index += 1
        if n == ops // 2:
            yield Op(index, t, 1.7e9 + t, "info", "nemesis", "kill", None, "redis-2")
            index += 1
        o = rng.random()
        outcome = "fail" if o < 0.02 else "info" if o < 0.025 else "ok"
        yield Op(index, t + 0.0003, 1.7e9 + t, outcome, p, f, key, value, "127.0.0.11:7001")
        index += 1


def read_back(keys: list[str]) -> list[str]:
    """The final read, as if every write turned up: a key's value is derived from it."""
    return [key.split(":", 3)[3] for key in keys]


def checkers() -> tuple:
    return (WriteSetChecker(read_back), CounterChecker(), OpCounter(),
            AvailabilityChecker(lambda op: op.key[7:11], fs=("write",)),
            LatencyChecker([("warmup", 0.0), ("fault", 25.0)]))


def measure(history, ops: int, series: bool = False) -> tuple[float, float]:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    writes, counters, counts, avail, lat = checkers()
    run(history, writes, counters, counts, avail, lat, *([LatencySeries()] if series else []))
    results = [writes.result(), counters.result({}), counts.result(), avail.result(), lat.result()]
    seconds = time.perf_counter() - started
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert results[2]["ok"] + results[2]["fail"] + results[2]["info"] == ops
    return seconds, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--from-file", action="store_true")
    args = parser.parse_args()
    if args.from_file:
        with tempfile.TemporaryDirectory() as tmp:
            shard = Path(tmp) / "history-0.jsonl"
            with HistoryWriter(shard, 0.0, 1.7e9) as w:
                for op in synthetic(args.ops):
                    w.record(op.type, op.process, op.f, op.key, op.value, op.node, op.error, at=op.time)
            path = Path(tmp) / HISTORY_FILE
            started = time.perf_counter()
            records = merge_histories([shard], path)
            merge_s = time.perf_counter() - started
            plain, packed = shard.stat().st_size / records, path.stat().st_size / records
            print(f"history: {records:,} records, {plain:.1f} bytes a record as written, {packed:.1f} compressed "
                  f"(merge and compress {merge_s:.2f} s); ratio to the 30 B target: {packed / 30:.2f}")
            seconds, peak = measure(read_history(path), args.ops)
            source = f"read from a {path.stat().st_size / 1e6:.0f} MB zstd history"
    else:
        started = time.perf_counter()
        for _ in synthetic(args.ops):  # what making the operations costs, to take it out
            pass
        making = time.perf_counter() - started
        total, peak = measure(synthetic(args.ops), args.ops)
        seconds = total - making
        source = f"generated in memory: {total:.2f} s in all, {making:.2f} s of it making the operations"
    print(f"checkers over {args.ops:,} operations ({source}): {seconds:.2f} s, peak memory +{peak:.0f} MB")
    print(f"time ratio to the 3 s target: {seconds / 3:.2f}; memory ratio to the 150 MB target: {peak / 150:.2f}")
    if not args.from_file:  # a run's pass also gathers the latency chart's series (analyze_history)
        with_series, _ = measure(synthetic(args.ops), args.ops, series=True)
        print(f"with the latency chart's series gathered in the same pass: {with_series - making:.2f} s "
              f"(+{with_series - total:.2f} s)")


if __name__ == "__main__":
    main()
