"""Run settings, typed and validated: :class:`RunConfig` (every run), :class:`RedisRunConfig`
(every Redis Cluster scenario), :class:`ReplicationConfig` (every MySQL/MariaDB replication
scenario). A scenario's config extends one of them. Each field is also its command-line option
(:func:`chaos.options.option`), so a setting is declared once. Light to import: the CLI builds
its options from here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import click

from chaos.errors import ChaosError
from chaos.options import MYSQL_SERVERS, REDIS_SERVERS, SERVER_HELP, option
from chaos.servers import parse_server

IMAGE_HELP = ("Your own image (--backend docker): any image holding the server's binary, from this engine or pulled "
              "from its registry (e.g. 127.0.0.1:5000/team/redis:7.0); its CMD's config file and arguments are kept, "
              "the harness adds only ports, addresses, cluster flags and the data directory.")


@dataclass
class RunConfig:
    """Settings every scenario run has; a scenario's config extends it."""

    backend: str = option("process", "Where servers run: local processes, or Docker containers on the host network "
                          "(image from `chaos images build`).")
    duration: float = option(30.0, "Seconds of load at least.")
    warmup: float = option(5.0, "Seconds of load before the fault.")
    users: int = option(20, "Concurrent load users (one connection each).")
    rate: float | None = option(None, "Target ops/s over all users, paced (default: unpaced).")
    seed: int | None = option(None, "Seed of the choices and the op mix (default: random, recorded in result.json).")
    workers: int | str = option("1", "Load processes (Locust master/worker mode when more than 1), or 'auto': one per "
                                "core but one (left to the servers).", show_default=True)
    out: str | None = option(None, "Run directory.", type=click.Path(file_okay=False))
    keep: bool = option(False, "Leave the servers this run started running (stop them with `chaos down`).")
    metrics_port: int | None = option(None, "Serve Prometheus /metrics on 127.0.0.1:PORT while the run lasts (each "
                                      "measurement is set the moment it is known).")
    metrics_linger: float = option(30.0, "With --metrics-port: keep serving /metrics this many seconds after the run "
                                   "ended, so a scrape sees the verdict (30 s: two scrapes at Prometheus' usual 15 s; "
                                   "0 to exit at once; Ctrl-C ends it early).")
    textfile_dir: str | None = option(None, "Write the final metrics atomically to DIR/chaos_<scenario>[_<label>].prom "
                                      "for node_exporter's textfile collector (cron-driven runs).",
                                      type=click.Path(file_okay=False))
    pushgateway: str | None = option(None, "Push final metrics to this Pushgateway URL (job chaos, grouped by scenario "
                                     "and label: each run replaces the last).")
    slo: list[str] = option(help="A check on a measurement, e.g. 'NAME<=10' (repeatable); an SLO on a measurement a "
                            "built-in check judges (e.g. 'lost_writes<=5') replaces that check.", factory=list,
                            multiple=True)
    label: str | None = option(None, "A label recorded in result.json (`chaos report compare --label`).")
    repeat: int = option(1, "Run N times into one directory, then compare the runs (exit 0 only if all passed).")
    matrix: str | None = option(None, "Run --repeat times on each server (e.g. redis:7.0,redis:8.0,valkey:8.1,valkey:9.1) "
                                "into one directory, then compare them grouped by server, the first the baseline.",
                                metavar="SERVER,SERVER,...")

    clients: str | None = option(None, "The client view: these client libraries (comma-separated NAME[@VERSION]; "
                                 "Redis: redis-py, valkey-glide, ioredis, node-redis; MySQL: pymysql) each write beside "
                                 "the recorder, with the library's defaults, in a process of their own; the report shows "
                                 "what each one saw. Installed into a cache on first use (`chaos clients install`).",
                                 metavar="LIST")
    client_rate: float = option(40.0, "Writes per second of each --clients library (paced: they observe, the "
                                "recorder loads).")
    client_workers: int = option(4, "Concurrent workers (threads, or the library's own async tasks) per --clients "
                                 "library.")
    client_profile: str = option("defaults", "How the --clients libraries are configured: their own defaults, or the "
                                 "settings a cloud vendor recommends where one is written down (`chaos clients list` "
                                 "shows them with their source).", choices=("defaults", "vendor"))

    BACKENDS: ClassVar[tuple[str, ...]] = ("process",)  # where this scenario's servers can run
    CLIENT_FAMILY: ClassVar[str | None] = None  # the --clients libraries this scenario's servers take

    def validate(self) -> None:
        if self.backend not in self.BACKENDS:
            raise ChaosError(f"backend {self.backend!r} is not available for this scenario; use "
                             + " or ".join(f"--backend {b}" for b in self.BACKENDS))
        if self.duration <= 0 or self.warmup < 0 or self.users < 1 or (self.rate is not None and self.rate < 0):
            raise ChaosError("--duration must be positive, --warmup and --rate not negative, --users at least 1")
        if self.metrics_linger < 0:
            raise ChaosError("--metrics-linger must not be negative")
        if not 1 <= self.repeat <= 1000:
            raise ChaosError("--repeat must be between 1 and 1000")
        if self.workers == "auto":  # one load process per core but one, which the servers keep
            self.workers = max(1, min(self.users, (os.cpu_count() or 1) - 1))
        try:
            self.workers = int(self.workers)
        except ValueError:
            raise ChaosError(f"--workers must be a number or 'auto', got {self.workers!r}") from None
        if not 1 <= self.workers <= self.users:
            raise ChaosError(f"--workers must be between 1 and --users ({self.users}), got {self.workers}")
        if self.clients:
            from chaos.appclients import parse_clients

            if self.CLIENT_FAMILY is None:
                raise ChaosError("this scenario has no client view; drop --clients")
            parse_clients(self.clients, self.CLIENT_FAMILY)
            if not (0 < self.client_rate <= 1000 and 1 <= self.client_workers <= 16):
                raise ChaosError("--client-rate must be in (0, 1000] and --client-workers in [1, 16]")

    def load_options(self) -> dict[str, Any]:
        """How the load runs: rate (0 = unpaced) and load processes."""
        return {"rate": self.rate or None, "workers": self.workers}


@dataclass
class RedisRunConfig(RunConfig):
    """Settings of every Redis Cluster scenario; each field is its command-line option too."""

    BACKENDS = ("process", "docker")
    CLIENT_FAMILY = "redis"
    masters: int = option(3, "Masters of a cluster the harness starts.")
    replicas_per_master: int = option(1, "Replicas of each master.")
    node_timeout_ms: int = option(3000, "cluster-node-timeout of a cluster the harness starts: how long a node may be "
                                  "silent before it is failed.")
    base_port: int = option(7001, "Port of the first node of a cluster the harness starts; node i uses base+i-1 "
                            "(cluster bus: port+10000).")
    target: str | None = option(None, "The node to fault: a name (redis-2) or HOST:PORT (default: a seeded random "
                                "master).")
    failover_timeout: float | None = option(None, "Seconds to wait for the promotion [default: max(30, 10 × node "
                                            "timeout)].")
    rejoin_timeout: float = option(60.0, "Seconds to wait for the old master to come back as a replica.")
    probe_interval_ms: float = option(10.0, "How often every node is sampled.")
    attach: str | None = option(None, "Run against the cluster redis://HOST:PORT belongs to instead of starting one: "
                                "nodes are found from it and mapped to their processes (--backend process) or "
                                "containers (--backend docker); nothing is provisioned, reconfigured or removed, and "
                                "what the run kills or pauses is brought back.", metavar="redis://HOST:PORT")
    password_env: str | None = option(None, "Environment variable holding the servers' password (never give it as an "
                                      "argument).", metavar="VAR")
    allow_remote: bool = option(False, "Allow --attach to a server that is not on a loopback address.")
    keep_data: bool = option(False, "With --attach: keep the keys this run wrote (default: deleted at the end).")
    server: str | None = option(None, SERVER_HELP.format(what=REDIS_SERVERS), metavar="NAME[:VERSION]")
    image: str | None = option(None, IMAGE_HELP, metavar="REF")
    def validate(self) -> None:
        super().validate()
        parse_server(self.server, "redis")
        check_image_options(self)
        if self.replicas_per_master < 1:
            raise ChaosError("this scenario needs replicas to fail over to: --replicas-per-master must be >= 1")
        if not 1 <= self.probe_interval_ms <= 1000:
            raise ChaosError("--probe-interval-ms must be between 1 and 1000")

    def failover_wait(self, node_timeout_ms: int) -> float:
        return self.failover_timeout or max(30.0, node_timeout_ms / 1000.0 * 10)


@dataclass
class ReplicationConfig(RunConfig):
    """Settings of every MySQL/MariaDB replication scenario; each field is its command-line option too."""

    BACKENDS = ("process", "docker")
    CLIENT_FAMILY = "mysql"
    base_port: int = option(3307, "Port of the source of a pair the harness starts; the replica uses BASE_PORT+1.")
    server: str | None = option(None, SERVER_HELP.format(what=MYSQL_SERVERS), metavar="NAME[:VERSION]")
    image: str | None = option(None, IMAGE_HELP.replace("cluster flags", "server ids, replication"), metavar="REF")
    image_replica: str | None = option(None, "An image of its own for the node that starts as the replica (--backend "
                                       "docker), e.g. a newer server replicating from the old one in an upgrade "
                                       "rehearsal; the same family as the source.", metavar="REF")
    catchup_timeout: float = option(180.0, "Seconds to wait for the catch-up.")
    source: str | None = option(None, "Run against this source (with --replica) instead of starting a pair: nothing is "
                                "provisioned or reconfigured; the run's tables go to a database chaos_<run id>, dropped "
                                "at the end.", metavar="mysql://USER@HOST:PORT")
    replica: str | None = option(None, "The replica of --source; its process (--backend process) or container "
                                 "(--backend docker) is found by port and started again after the fault.",
                                 metavar="mysql://USER@HOST:PORT")
    password_env: str | None = option(None, "Environment variable holding USER's password (never give it as an "
                                      "argument).", metavar="VAR")
    allow_remote: bool = option(False, "Allow --source/--replica that are not on a loopback address.")
    keep_data: bool = option(False, "With --source/--replica: keep the run's database.")
    replication: str | None = option(None, "How a pair the harness starts replicates: by GTID, or by the source's binary "
                                     "log file and position (read from the source, as runbooks do); default gtid. With "
                                     "--source/--replica or a pair that is up: what it must already use.",
                                     choices=("gtid", "position"))
    replica_skip_errors: str | None = option(None, "Start the pair with the replica's replica_skip_errors (MariaDB: "
                                             "slave_skip_errors) set to these error codes, as runbooks do (e.g. 1062): "
                                             "see what it hides with replica-stop --stray-write.", metavar="CODES")
    tls: bool = option(False, "Start the pair with TLS only: a throw-away CA and certificate per state directory, "
                       "require_secure_transport=ON, users that REQUIRE SSL, replication over TLS verified against "
                       "the CA; every connection of the harness and its load verifies the server.")
    tls_ca: str | None = option(None, "With --source/--replica: connect over TLS, verifying the servers' certificates "
                                "(and the address in them) against this CA file.", metavar="FILE")


    def validate(self) -> None:
        super().validate()
        parse_server(self.server, "mysql")
        check_image_options(self)
        if bool(self.source) != bool(self.replica):
            raise ChaosError("give both --source and --replica (mysql://USER@HOST:PORT of each), or neither")
        if self.tls and self.source:
            raise ChaosError("--tls starts a pair with TLS; to reach your own pair over TLS give --tls-ca FILE")
        if self.tls_ca and not self.source:
            raise ChaosError("--tls-ca is for --source/--replica; a pair the harness starts takes --tls")
        if self.tls_ca and not Path(self.tls_ca).is_file():
            raise ChaosError(f"--tls-ca {self.tls_ca}: no such file")


def check_image_options(config: Any) -> None:
    """--image: with the docker backend, instead of --server, on a topology the harness starts."""
    if getattr(config, "image_replica", None):
        if config.backend != "docker":
            raise ChaosError("--image-replica needs --backend docker")
        if getattr(config, "source", None):
            raise ChaosError("--image-replica configures a pair the harness starts, not one you attach to; drop it")
    if not config.image:
        return
    if config.backend != "docker":
        raise ChaosError("--image needs --backend docker")
    if config.server:
        raise ChaosError("give --image or --server, not both: the image's binary says which server it is")
    if getattr(config, "attach", None) or getattr(config, "source", None):
        raise ChaosError("--image configures a topology the harness starts, not one you attach to; drop it")
