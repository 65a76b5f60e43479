"""Benchmark baseline only: the same 60/30/10 SET/GET/INCR mix through redis-py's RedisCluster
in a Locust user, as a load generator built "as the libraries come" would do it.

``python -m loadgen.redispy_baseline SEED_HOST:PORT USERS SECONDS`` prints one JSON line."""

from __future__ import annotations

import json
import random
import sys
import time

import gevent
import locust
from locust import User, constant, task
from locust.env import Environment
from redis.cluster import RedisCluster


def main(seed: str, users: int, seconds: float) -> None:
    host, _, port = seed.rpartition(":")
    done = {"ops": 0}

    class RedisPyUser(User):
        wait_time = constant(0)

        def on_start(self) -> None:
            self.client = RedisCluster(host=host, port=int(port))
            self.rng = random.Random(id(self))
            self.n = 0

        @task
        def step(self) -> None:
            r = self.rng.random()
            started = time.perf_counter()
            self.n += 1
            if r < 0.6:
                self.client.set(f"base:{id(self)}:{self.n}", "v")
            elif r < 0.9:
                self.client.get(f"base:{id(self)}:{self.n - 1}")
            else:
                self.client.incr("base:ctr")
            locust.events.request.fire(request_type="op", name="ok", response_time=(time.perf_counter()
                                       - started) * 1000, response_length=0, exception=None, context={})
            done["ops"] += 1

    env = Environment(user_classes=[RedisPyUser], events=locust.events)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=1000)
    gevent.sleep(1.0)  # connect and warm up
    start_ops, start = done["ops"], time.monotonic()
    gevent.sleep(seconds)
    ops = done["ops"] - start_ops
    elapsed = time.monotonic() - start
    runner.quit()
    print(json.dumps({"ops_per_second": ops / elapsed}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
