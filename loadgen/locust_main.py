"""The load process: Locust in library mode, the only place that imports locust (and gevent).

Run as ``python -m loadgen.locust_main SETTINGS.json``. It writes its history shard to
``<out_dir>/history-<worker>.jsonl`` and one JSON line per second to stdout with the figures
of that second (ok/fail/info, p50/p99 ms) counted by its own request listener; Locust's
``current_rps`` (a 10 s average) is too coarse to see a failover. SIGTERM or SIGINT ends the
load early; the shard is flushed either way.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from bisect import bisect_left

import gevent
import locust
import pymysql
from locust import User, constant, constant_throughput, task
from locust.env import Environment

from chaos.clients.resp import ClusterClient, Redirects
from chaos.history import HistoryWriter
from loadgen.mysql_workload import MysqlWorkload, current_endpoint
from loadgen.redis_workload import RedisWorkload
from loadgen.settings import LATENCY_BUCKETS_MS, LoadSettings
from loadgen.workload import Drain, Report


class SecondStats:
    """Per-second counts and latencies, fed by every attempt directly (the workloads' ``report``):
    Locust's request event and its own statistics, which nothing here reads, cost ~7% of the
    load process's CPU on the hot path."""

    def __init__(self, t0: float):
        self.t0 = t0
        self.reset()

    def reset(self) -> None:
        self.counts = {"ok": 0, "fail": 0, "info": 0}
        self.latencies: list[float] = []

    def report(self, f: str, outcome: str, ms: float, error: str | None) -> None:
        self.counts[outcome] += 1
        if outcome == "ok":
            self.latencies.append(ms)

    def snapshot(self) -> dict:
        """This second's raw figures (sent from a worker to the master), then start afresh."""
        data = {"sec": round(time.monotonic() - self.t0), **self.counts, "lat": self.latencies, **Redirects.take()}
        self.reset()
        return data


def second_line(t: float, snapshots: list[dict]) -> str:
    """One JSON line for the orchestrator from one or more processes' snapshots of a second."""
    lat = sorted(x for snap in snapshots for x in snap["lat"])
    pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)) if lat else (lambda q: None)
    # finer than Locust's whole-millisecond buckets: loopback Redis answers in ~0.3 ms
    buckets = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    for ms in lat:
        buckets[bisect_left(LATENCY_BUCKETS_MS, ms)] += 1
    data = {"t": round(t, 3), **{k: sum(snap[k] for snap in snapshots) for k in ("ok", "fail", "info")},
            "p50": pick(0.5), "p99": pick(0.99), "buckets": buckets, "sum_ms": round(sum(lat), 3),
            # redirects the clients followed (MOVED, ASK) or failed on (TRYAGAIN) in this second
            **{k: sum(snap.get(k, 0) for snap in snapshots) for k in ("moved", "ask", "tryagain")}}
    return json.dumps(data)


def make_user_class(settings: LoadSettings, history: HistoryWriter | None, report: Report) -> type[User]:
    wait = constant(0) if not settings.rate else constant_throughput(settings.rate / settings.users)
    batch = 1 if settings.rate else 8
    counter = iter(range(settings.worker_index * 100_000, (settings.worker_index + 1) * 100_000))
    weights = (settings.write_weight, settings.read_weight, settings.incr_weight)

    def redis_workload(user: int, rng: random.Random) -> RedisWorkload:
        client = ClusterClient(list(settings.seeds), timeout=settings.timeout)
        client.refresh()
        return RedisWorkload(user, settings.run_id, client, history, report, rng, weights, settings.counters,
                             sleep=gevent.sleep)

    def mysql_workload(user: int, rng: random.Random) -> MysqlWorkload:
        m = settings.mysql
        password = os.environ.get("CHAOS_MYSQL_PASSWORD", "")

        def connect() -> tuple[pymysql.Connection, str]:
            host, port = current_endpoint(m)
            conn = pymysql.connect(host=host, port=port, user=m["user"], password=password,
                                   autocommit=True, connect_timeout=settings.timeout,
                                   read_timeout=settings.timeout, write_timeout=settings.timeout, **(m.get("tls") or {}))
            return conn, f"{host}:{port}"

        return MysqlWorkload(user, connect, history, report, rng, weights, f"{m['host']}:{m['port']}",
                             sleep=gevent.sleep, database=m.get("database") or "chaos", id_base=settings.id_base)

    make = redis_workload if settings.workload == "redis" else mysql_workload

    class RecordingUser(User):
        wait_time = wait

        def on_start(self) -> None:
            user = next(counter)
            self.workload = make(user, random.Random(settings.seed * 1_000_003 + user))

        @task
        def step(self) -> None:
            # unpaced, one task runs several operations: Locust's per-task scheduling (a hub
            # switch for the zero wait) is then paid once per batch, not once per operation;
            # every operation still yields on its own socket I/O
            for _ in range(batch):
                self.workload.step()

        def on_stop(self) -> None:
            self.workload.close()

    return RecordingUser


def every_second(t0: float, action) -> gevent.Greenlet:
    def loop() -> None:
        while True:
            gevent.sleep(1.0 - (time.monotonic() - t0) % 1.0)
            action()
    return gevent.spawn(loop)


def watch_parent(parent: int, stop) -> None:
    """A load process never outlives its controller (a harness killed with SIGKILL cannot stop
    it): once the parent is gone (we were re-parented), stop gracefully, and exit hard if that
    takes more than a few seconds."""
    while os.getppid() == parent:
        gevent.sleep(0.5)
    print("the controller is gone: stopping the load", file=sys.stderr, flush=True)
    stop()
    gevent.sleep(5)
    os._exit(3)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadgen.locust_main",
                                     description="A chaos load process (Locust library mode).")
    parser.add_argument("settings", help="LoadSettings JSON file")
    parser.add_argument("--role", choices=["local", "master", "worker"], default="local")
    parser.add_argument("--index", type=int, default=0, help="worker index (unique per worker)")
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--parent", type=int, default=None,
                        help="exit within seconds once this process (the controller) is gone")
    args = parser.parse_args(argv)
    settings = LoadSettings.from_file(args.settings)
    if settings.workload not in ("redis", "mysql"):
        print(f"unsupported workload {settings.workload}", file=sys.stderr)
        return 2
    settings.worker_index = args.index
    history = None
    if args.role != "master":
        shard = os.path.join(settings.out_dir, f"history-{settings.worker_index}.jsonl")
        history = HistoryWriter(shard, settings.t0, settings.wall0)
        history.index = settings.worker_index * 10**12  # unique across shards until the merge
    stats = SecondStats(settings.t0)
    env = Environment(user_classes=[make_user_class(settings, history, stats.report)], events=locust.events)

    def drain(**_: object) -> None:  # before Locust stops the users: let attempts in flight finish
        Drain.stopping = True
        deadline = time.monotonic() + settings.timeout * 3 + 1
        while Drain.in_flight and time.monotonic() < deadline:
            gevent.sleep(0.005)

    locust.events.test_stopping.add_listener(drain)
    if args.role == "local":
        runner = env.create_local_runner()
        ticker = every_second(settings.t0, lambda: print(
            second_line(time.monotonic() - settings.t0, [stats.snapshot()]), flush=True))
    elif args.role == "worker":
        runner = env.create_worker_runner(args.master_host, settings.master_port)
        ticker = every_second(settings.t0, lambda: runner.send_message("chaos_second", stats.snapshot()))
    else:
        runner = env.create_master_runner(settings.master_bind, settings.master_port)
        pending: dict[int, list[dict]] = {}
        runner.register_message("chaos_second",
                                lambda msg, **_: pending.setdefault(msg.data["sec"], []).append(msg.data))

        def flush() -> None:  # a second is printed once every worker had time to report it
            now = time.monotonic() - settings.t0
            for sec in sorted(pending):
                if sec < now - 0.5:
                    print(second_line(sec, pending.pop(sec)), flush=True)

        ticker = every_second(settings.t0 + 0.5, flush)

    def graceful_quit() -> None:
        if args.role != "worker":
            runner.stop()
        runner.quit()

    def stop(*_: object) -> None:
        gevent.spawn(graceful_quit)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    if args.parent:
        gevent.spawn(watch_parent, args.parent, stop)
    if args.role == "master":
        deadline = time.monotonic() + 30
        while runner.worker_count < settings.workers:
            if time.monotonic() > deadline:
                print(f"only {runner.worker_count} of {settings.workers} load workers connected", file=sys.stderr)
                runner.quit()
                return 2
            gevent.sleep(0.05)
    if args.role != "worker":
        runner.start(settings.users, spawn_rate=settings.spawn_rate)
        gevent.spawn_later(settings.duration, stop)
    runner.greenlet.join()
    ticker.kill()
    if history is not None:
        history.close()  # first: the shard must be complete even if nobody reads our stdout any more
    try:
        if args.role == "local":
            print(second_line(time.monotonic() - settings.t0, [stats.snapshot()]), flush=True)
        print(json.dumps({"done": True}), flush=True)
    except BrokenPipeError:  # the controller is gone
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
