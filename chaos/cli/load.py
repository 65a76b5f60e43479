"""`chaos load redis|mysql`: load alone against the topology that is up."""

from __future__ import annotations

import click

from chaos.cli.root import cli
from chaos.errors import ChaosError
from chaos.state import StateDir


@cli.group()
def load() -> None:
    """Run load alone against the topology that is up (no faults), and summarise it."""


def _load_command(workload: str, doc: str) -> None:
    @load.command(workload, help=doc)
    @click.option("--duration", default=30.0, show_default=True, help="Seconds of load.")
    @click.option("--users", default=20 if workload == "redis" else 8, show_default=True,
                  help="Concurrent Locust users (one connection each).")
    @click.option("--rate", type=float, default=None, help="Target ops/s over all users (paced); "
                  "default: as fast as possible.")
    @click.option("--seed", default=0, show_default=True, help="Seed of the operation mix.")
    @click.option("--workers", default=1, show_default=True,
                  help="Load processes; more than 1 runs Locust's master/worker mode (users spread over them).")
    @click.option("--master-bind", default="127.0.0.1", show_default=True,
                  help="Address the Locust master listens on for workers (with --workers).")
    @click.option("--master-port", default=5557, show_default=True, help="Port of the Locust master.")
    @click.option("--out", type=click.Path(file_okay=False), default=None,
                  help=f"Run directory [default: runs/load-{workload}-<UTC timestamp>].")
    @click.pass_obj
    def command(state: StateDir, duration: float, users: int, rate: float | None, seed: int, workers: int,
                master_bind: str, master_port: int, out: str | None) -> None:
        from chaos.loadrun import run_load

        if duration <= 0 or users < 1 or (rate is not None and rate <= 0) or workers < 1:
            raise ChaosError("--duration and --rate must be positive, --users and --workers at least 1")
        if workers > users:
            raise ChaosError(f"--workers {workers} is more than --users {users}: every worker needs a user")
        click.echo(run_load(state, workload, duration=duration, users=users, rate=rate, seed=seed, out=out,
                            workers=workers, master_bind=master_bind, master_port=master_port))


_load_command("redis", """Drive the Redis workload through the redis-cluster that is up: unique-key writes,
    read-backs and counters, every attempt recorded in history.jsonl.zst; then read every key back
    and report lost writes.

    \b
    Examples:
      chaos up redis-cluster && chaos load redis --duration 10 --users 50
      chaos load redis --rate 2000 --out runs/paced
      chaos load redis --workers 2 --users 100      # Locust master + 2 worker processes
    """)
_load_command("mysql", """Drive the MySQL workload through the source of the mysql-replication that is up:
    unique-id inserts, updates and reads on chaos.items (autocommit: one transaction per
    statement), every attempt recorded; then read every row back from the source.

    \b
    Examples:
      chaos up mysql-replication && chaos load mysql --duration 10 --users 8
      chaos load mysql --rate 1000
    """)
