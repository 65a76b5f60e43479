"""Option groups of `chaos run` scenarios, as decorators (sqlite-utils' ``@output_options``):
one definition each, so every scenario spells and documents an option the same way."""

from __future__ import annotations

from collections.abc import Callable

import click


def _apply(options: list[Callable[[Callable], Callable]]) -> Callable[[Callable], Callable]:
    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def backend_option(backends: tuple[str, ...] = ("process", "docker")) -> Callable[[Callable], Callable]:
    return click.option("--backend", default="process", show_default=True, type=click.Choice(list(backends)),
                        help="Where servers run: local processes" + (
                            ", or Docker containers on the host network (image from `chaos images build`)"
                            if "docker" in backends else "") + ".")


def run_options(users: int, rate: float | None, rate_help: str, what: str,
                backends: tuple[str, ...] = ("process", "docker")) -> Callable[[Callable], Callable]:
    """The options of every scenario (those of :class:`chaos.engine.RunConfig`)."""
    return _apply([
        backend_option(backends),
        click.option("--duration", default=30.0, show_default=True, help="Seconds of load at least."),
        click.option("--warmup", default=5.0, show_default=True, help="Seconds of load before the fault."),
        click.option("--users", default=users, show_default=True, help="Concurrent load users (one connection each)."),
        click.option("--rate", type=float, default=rate, show_default=rate is not None, help=rate_help),
        click.option("--workers", default="1", show_default=True,
                     help="Load processes (Locust master/worker mode when more than 1), or 'auto': one per core "
                     "but one (left to the servers)."),
        click.option("--seed", type=int, default=None,
                     help="Seed of the choices and the op mix (default: random, recorded in result.json)."),
        click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory."),
        click.option("--keep", is_flag=True, help=f"Leave {what} this run started running."),
        click.option("--metrics-port", type=int, default=None, help="Serve Prometheus /metrics on 127.0.0.1:PORT."),
        click.option("--pushgateway", default=None, help="Push final metrics to this Pushgateway URL."),
        click.option("--label", default=None, help="A label recorded in result.json (`chaos report compare --label`)."),
        click.option("--repeat", default=1, show_default=True,
                     help="Run N times into one directory, then compare the runs (exit 0 only if all passed)."),
        click.option("--matrix", default=None, metavar="SERVER,SERVER,...",
                     help="Run --repeat times on each server (e.g. redis:7.0,redis:8.0,valkey:8.1,valkey:9.1) into one "
                     "directory, then compare them grouped by server, the first the baseline."),
        click.option("--slo", multiple=True, help="A check on a measurement, e.g. 'NAME<=10' (repeatable); an SLO "
                     "on a measurement a built-in check judges (e.g. 'lost_writes<=5') replaces that check."),
    ])


def server_option(kind: str) -> Callable[[Callable], Callable]:
    """--server: which server (and version) the topology a run starts runs."""
    if kind == "redis":
        what = "redis or valkey, optionally :MAJOR.MINOR (redis:7.0, redis:8.0, valkey:8.1, valkey:9.1)"
    else:
        what = "mariadb, optionally :MAJOR.MINOR (mariadb:10.11, mariadb:11.8)"
    return click.option("--server", default=None, metavar="NAME[:VERSION]",
                        help=f"Server of a topology this run starts: {what}. Docker backend: the image "
                        "chaos/NAME:VERSION from `chaos images build` (default: the newest built); process backend: "
                        "the binary installed here, checked against VERSION.")


def redis_cluster_options(default_target_help: str | None, failover_timeout: bool = True,
                          probe_interval_ms: float = 10.0, masters: int = 3) -> Callable[[Callable], Callable]:
    """The options of every Redis Cluster scenario: the cluster a run starts, the target (unless
    ``default_target_help`` is None: the scenario names its own), the waits, probes. Scenarios
    whose fault lasts a set time (pause, partition) wait for the promotion that long instead of
    taking ``--failover-timeout``."""
    return _apply([
        server_option("redis"),
        click.option("--node-timeout-ms", default=3000, show_default=True,
                     help="cluster-node-timeout of a cluster this run starts."),
        click.option("--masters", default=masters, show_default=True, help="Masters of a cluster this run starts."),
        click.option("--replicas-per-master", default=1, show_default=True, help="Replicas per master."),
        click.option("--base-port", default=7001, show_default=True, help="First port of a cluster this run starts."),
        *([click.option("--target", default=None, help=f"Node name (redis-2) or HOST:PORT. {default_target_help}")]
          if default_target_help is not None else []),
        *([click.option("--failover-timeout", type=float, default=None, help="Seconds to wait for the promotion "
                        "[default: max(30, 10 × node timeout)].")] if failover_timeout else []),
        click.option("--rejoin-timeout", default=60.0, show_default=True,
                     help="Seconds to wait for the old master to come back as a replica."),
        click.option("--probe-interval-ms", default=probe_interval_ms, show_default=True,
                     help="How often every node is sampled."),
    ])


def attach_options(url: str = "redis://HOST:PORT") -> Callable[[Callable], Callable]:
    """Run against servers the harness did not start (see README, "Test your own cluster")."""
    return _apply([
        click.option("--attach", default=None, metavar=url,
                     help=f"Run against the cluster {url} belongs to instead of starting one: nodes are found from "
                     "it and mapped to their processes (--backend process) or containers (--backend docker); nothing "
                     "is provisioned, reconfigured or removed, and what the run kills or pauses is brought back."),
        click.option("--password-env", default=None, metavar="VAR",
                     help="Environment variable holding the servers' password (never give it as an argument)."),
        click.option("--allow-remote", is_flag=True,
                     help="Allow --attach to a server that is not on a loopback address."),
        click.option("--keep-data", is_flag=True,
                     help="With --attach: keep the keys this run wrote (default: deleted at the end)."),
    ])


def scale_options() -> Callable[[Callable], Callable]:
    """The options scale-out and scale-in share: the preload, how slots move, the load after."""
    return _apply([
        click.option("--preload-keys", default=200_000, show_default=True, help="Keys written before the load starts."),
        click.option("--value-bytes", default=100, show_default=True, help="Size of each preloaded value."),
        click.option("--pipeline", default=10, show_default=True, help="MIGRATE batches sent per round trip."),
        click.option("--batch", default=100, show_default=True, help="Keys per MIGRATE."),
        click.option("--method", type=click.Choice(["auto", "legacy", "atomic"]), default="auto", show_default=True,
                     help="How slots move: legacy (SETSLOT IMPORTING/MIGRATING, MIGRATE key batches, ASK redirects) "
                     "or atomic (CLUSTER MIGRATESLOTS: Valkey 9 or later, one job per source and target, no ASK); "
                     "auto takes atomic where every master supports it. result.json says which ran."),
        click.option("--after", default=5.0, show_default=True, help="Seconds of load after the reshard."),
    ])
