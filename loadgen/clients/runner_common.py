"""What the Python runners of the client view share (stdlib only; imported from beside them, as
they run as scripts with only the library under test on ``PYTHONPATH``): the history file, the
operations (unique-key writes and a few counters, keys the recorder's way), the pace."""

import json
import os
import signal
import sys
import threading
import time

TAG_COUNT = 1024


def load_spec():
    with open(sys.argv[1]) as f:
        return json.load(f)


def password():
    return os.environ.get("CHAOS_REDIS_PASSWORD") or None


def seeds(spec):
    return [(host, int(port)) for host, port in (s.rsplit(":", 1) for s in spec["seeds"])]


class History:
    """The recorder's JSON-lines format, one line per record, written at once (a crash keeps
    everything written); shared by the workers under a lock."""

    def __init__(self, spec):
        self.out = open(spec["history"], "a", buffering=1)
        self.t0, self.wall0, self.index = spec["t0"], spec["wall0"], 0
        self.lock = threading.Lock()

    def record(self, type_, process, f, key, value, error=None, at=None):
        elapsed = (time.monotonic() if at is None else at) - self.t0
        with self.lock:
            self.out.write(json.dumps({"index": self.index, "time": round(elapsed, 6),
                                       "wall": round(self.wall0 + elapsed, 6), "type": type_, "process": process,
                                       "f": f, "key": key, "value": value, "node": None, "error": error},
                                      separators=(",", ":")) + "\n")
            self.index += 1


def operation(spec, n, seq):
    """Worker ``n``'s operation number ``seq``: (f, key, value) — every tenth an INCR of one of a
    few counters of this client, else a write of a key no other write uses."""
    me, run = spec["index"], spec["run_id"]
    counters, every = spec.get("counters", 4), spec.get("incr_every", 10)
    if seq % every == every - 1:
        c = (n * 31 + seq) % counters
        return "incr", f"chaos:{{t{(c * 257 + me) % TAG_COUNT}}}:{run}:c{me}ctr:{c}", None
    return "write", f"chaos:{{t{(n * 7919 + seq + me * 211) % TAG_COUNT}}}:{run}:c{me}w{n}:{seq}", f"c{me}w{n}:{seq}"


def orphaned(spec):
    """The harness that started this runner is gone (killed): stop, as the load processes do."""
    return spec.get("parent") is not None and os.getppid() != spec["parent"]


def failure(exc):
    """What the application was told, as the history's error text."""
    return f"{type(exc).__name__}: {exc}"[:300]


class Pace:
    """``rate / workers`` operations a second per worker; no burst after a blocked call."""

    def __init__(self, spec):
        self.interval = spec["workers"] / spec["rate"]
        self.next_at = time.monotonic()

    def delay(self):
        self.next_at = max(self.next_at + self.interval, time.monotonic())
        return max(0.0, self.next_at - time.monotonic())


def run_threads(worker, make=None):
    """The threaded runners' main: the spec and the history, ``make()`` (the client the workers
    share, or None; an error there ends the runner with its message on stderr), ``workers``
    threads of ``worker(n, spec, client, history, stop)``, "ready"; on SIGTERM stop invoking,
    wait up to ``drain_seconds``, exit: threads blocked inside the library are left as the
    application would have them (their calls stay open in the history)."""
    spec = load_spec()
    history = History(spec)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        client = make(spec) if make is not None else None
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
        if orphaned(spec):
            stop.set()
    deadline = time.monotonic() + spec.get("drain_seconds", 1.0)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    history.out.flush()
    os._exit(0)
