"""The client view through valkey-glide's ``GlideClusterClient`` (asyncio), with the library's
defaults: one client shared by ``workers`` tasks on one event loop, as an async application
shares it.

Run by :mod:`chaos.appclients` as ``python -S valkey_glide.py SPEC.json`` with only the pinned
valkey-glide on ``PYTHONPATH`` (see :mod:`loadgen.clients.redis_py` for the spec, the stop and
what is recorded)."""

import asyncio
import os
import signal
import sys

from runner_common import History, Pace, failure, load_spec, operation, orphaned, password, seeds


async def worker(n, spec, client, history, stop):
    pace, seq = Pace(spec), 0
    while not stop.is_set():
        f, key, value = operation(spec, n, seq)
        seq += 1
        history.record("invoke", n, f, key, value)
        try:
            reply = await (client.incr(key) if f == "incr" else client.set(key, value))
            outcome, error = "ok", None
            if f == "incr":
                value = reply
        except Exception as exc:  # what reaches the application: it may have been applied
            outcome, error = "info", failure(exc)
        history.record(outcome, n, f, key, value, error)
        try:
            await asyncio.wait_for(stop.wait(), pace.delay())
        except TimeoutError:
            pass


async def main():
    spec = load_spec()
    history = History(spec)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        from glide import GlideClusterClient, GlideClusterClientConfiguration, NodeAddress, ServerCredentials

        secret = password()
        config = GlideClusterClientConfiguration([NodeAddress(h, p) for h, p in seeds(spec)],
                                                 credentials=ServerCredentials(secret) if secret else None)
        client = await GlideClusterClient.create(config)
    except Exception as exc:
        print(f"could not create the client: {failure(exc)}", file=sys.stderr)
        sys.exit(3)
    tasks = [asyncio.create_task(worker(n, spec, client, history, stop)) for n in range(spec["workers"])]
    print("ready", flush=True)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            if orphaned(spec):
                stop.set()
    await asyncio.wait(tasks, timeout=spec.get("drain_seconds", 1.0))
    history.out.flush()
    os._exit(0)  # calls pending inside the library are left as the application would have them


if __name__ == "__main__":
    asyncio.run(main())
