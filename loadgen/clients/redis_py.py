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

from runner_common import Pace, failure, operation, password, run_threads, seeds


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


def make(spec):
    from redis.cluster import ClusterNode, RedisCluster

    # the library's defaults; with --client-profile vendor, the vendor's recommended settings on top
    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in seeds(spec)], password=password(),
                        **spec.get("settings", {}))


if __name__ == "__main__":
    run_threads(worker, make)
