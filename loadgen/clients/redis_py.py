"""The client view through redis-py's ``RedisCluster``, with the library's defaults, on plain
threads (one client shared by every worker thread, as an application shares it).

Run by :mod:`chaos.appclients` as ``python -S redis_py.py SPEC.json`` with only the pinned
redis-py on ``PYTHONPATH``: no gevent, no harness code, nothing of the harness's own virtualenv.
The spec names the seeds, the run id, this client's index, the run's clock origin, the pace and
the history file; the password (if any) comes from ``CHAOS_REDIS_PASSWORD``. On SIGTERM the
workers stop invoking; calls still blocked inside the library stay open in the history (an
``invoke`` without completion is what the application would still be waiting for).

Every call is one recorded operation: ``ok`` when the library returned, ``info`` when it raised
(whatever it retried inside, the write may have been applied), with the exception's class and
message as the application sees them."""

import os
import signal
import sys
import threading
import time

from runner_common import History, Pace, failure, load_spec, operation, password, seeds


def worker(n, spec, client, history, stop):
    pace, seq = Pace(spec), 0
    while not stop.is_set():
        f, key, value = operation(spec, n, seq)
        seq += 1
        history.record("invoke", n, f, key, value)
        try:
            reply = client.incr(key) if f == "incr" else client.set(key, value)
            outcome, error = "ok", None
            if f == "incr":
                value = reply
        except Exception as exc:  # what reaches the application: it may have been applied
            outcome, error = "info", failure(exc)
        history.record(outcome, n, f, key, value, error)
        stop.wait(pace.delay())


def main():
    spec = load_spec()
    history = History(spec)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        from redis.cluster import ClusterNode, RedisCluster

        # the library's defaults; with --client-profile vendor, the vendor's recommended settings on top
        client = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in seeds(spec)], password=password(),
                              **spec.get("settings", {}))
    except Exception as exc:
        print(f"could not create the client: {failure(exc)}", file=sys.stderr)
        sys.exit(3)
    threads = [threading.Thread(target=worker, args=(n, spec, client, history, stop), daemon=True)
               for n in range(spec["workers"])]
    for t in threads:
        t.start()
    print("ready", flush=True)
    while not stop.is_set():
        stop.wait(0.2)
    deadline = time.monotonic() + spec.get("drain_seconds", 1.0)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    history.out.flush()
    os._exit(0)  # threads blocked inside the library are left as the application would have them


if __name__ == "__main__":
    main()
