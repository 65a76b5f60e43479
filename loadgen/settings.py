"""Settings of one load run, shared by the controller (orchestrator side) and the Locust
process. Plain data, JSON round-trip; no secrets (passwords travel in the environment)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# upper bounds (ms) of the latency buckets each load process reports per second; the last
# bucket (index len) is everything above
LATENCY_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]


@dataclass
class LoadSettings:
    workload: str  # "redis" | "mysql"
    run_id: str
    out_dir: str  # history shards and stats go here
    t0: float  # run start on time.monotonic() (system-wide on Linux)
    wall0: float  # unix time at t0
    users: int = 20
    spawn_rate: float = 100.0
    duration: float = 30.0  # upper bound; the controller may stop earlier
    rate: float | None = None  # target ops/s over all users (paced), None = as fast as possible
    seed: int = 0
    seeds: list[str] = field(default_factory=list)  # node addresses to discover the cluster from
    write_weight: int = 6
    read_weight: int = 3
    incr_weight: int = 1
    counters: int = 16
    timeout: float = 1.0  # socket timeout of one attempt
    worker_index: int = 0
    workers: int = 1  # load processes; >1 runs Locust's master/worker mode
    master_bind: str = "127.0.0.1"  # where the Locust master listens for workers
    master_port: int = 5557
    mysql: dict = field(default_factory=dict)  # host, port, user, database (password via env)
    id_base: int = 0  # where the run's MySQL row ids start (loadgen.mysql_workload.new_id_base)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_file(cls, path: str | Path) -> LoadSettings:
        return cls(**json.loads(Path(path).read_text()))
