"""`chaos up`, `chaos status`, `chaos down`: the topologies the harness starts, what runs, and taking it all down."""

from __future__ import annotations

import json
from typing import Any

import click

from chaos.cli.root import cli, say
from chaos.options import options_of
from chaos.settings import RedisRunConfig, ReplicationConfig
from chaos.state import StateDir


@cli.group()
def up() -> None:
    """Start a topology on local processes and wait until it is healthy."""


@up.command("redis-cluster")
@options_of(RedisRunConfig, only=("backend", "masters", "replicas_per_master", "node_timeout_ms", "base_port", "server",
                                  "image"))
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for a healthy cluster.")
@click.pass_obj
def up_redis_cluster(state: StateDir, masters: int, replicas_per_master: int, node_timeout_ms: int, base_port: int,
                     timeout: float, backend: str, server: str | None, image: str | None) -> None:
    """Start a Redis Cluster: MASTERS masters, each with REPLICAS-PER-MASTER replicas.

    Node i listens on 127.0.0.(10+i):(BASE_PORT+i-1), bound to that address only, so faults
    can target one node or one link.

    \b
    Examples:
      chaos up redis-cluster
      chaos up redis-cluster --masters 4 --replicas-per-master 2 --node-timeout-ms 1000
      chaos up redis-cluster --backend docker
      chaos up redis-cluster --backend docker --server valkey:9.1
      chaos up redis-cluster --backend docker --image 127.0.0.1:5000/team/redis:7.0
    """
    from chaos.backends import make_backend
    from chaos.settings import check_image_options
    from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig

    check_image_options(RedisRunConfig(backend=backend, server=server, image=image))
    config = RedisClusterConfig(masters=masters, replicas_per_master=replicas_per_master,
                                node_timeout_ms=node_timeout_ms, base_port=base_port, server=server or "",
                                image_ref=image or "")
    config.validate()
    cluster = RedisCluster(state, config, make_backend(backend, state.path))
    seconds = cluster.up(timeout=timeout, say=say)
    say(f"redis-cluster up: {config.masters} masters, {config.masters * config.replicas_per_master} "
        f"replicas, all 16384 slots covered, in {seconds:.2f} s")


@up.command("mysql-replication")
@options_of(ReplicationConfig, only=("backend", "base_port", "server", "image", "image_replica", "replication",
                                     "replica_skip_errors", "tls"))
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for replication to run.")
@click.pass_obj
def up_mysql_replication(state: StateDir, base_port: int, timeout: float, backend: str, server: str | None,
                         image: str | None, image_replica: str | None, replication: str | None,
                         replica_skip_errors: str | None, tls: bool) -> None:
    """Start a MariaDB (or Oracle MySQL) source and a replica replicating from it.

    The source is mysql-1 on 127.0.0.21:BASE_PORT, the replica mysql-2 on 127.0.0.22:BASE_PORT+1:
    binary log on, binlog_format=mixed, log_slave_updates, replica read_only; GTID positioning, or
    with --replication position the source's binary log file and position. Generated passwords
    stay in the state dir (mode 0600), never in arguments or reports.

    \b
    Examples:
      chaos up mysql-replication
      chaos up mysql-replication --base-port 4407 && chaos status
      chaos up mysql-replication --backend docker --server mysql:9.7 --replication position
      chaos up mysql-replication --backend docker --server mariadb:10.11 --image-replica chaos/mariadb:11.8
      chaos up mysql-replication --tls
    """
    from chaos.backends import make_backend
    from chaos.settings import check_image_options
    from chaos.topology.mysql_replication import MysqlReplication, MysqlReplicationConfig

    check_image_options(ReplicationConfig(backend=backend, server=server, image=image, image_replica=image_replica))
    topo = MysqlReplication(state, MysqlReplicationConfig(base_port=base_port, version=server or "", image_ref=image or "",
                                                          image_replica_ref=image_replica or "",
                                                          replication=replication or "gtid",
                                                          replica_skip_errors=replica_skip_errors or "", tls=tls),
                            make_backend(backend, state.path))
    seconds = topo.up(timeout=timeout, say=say)
    say(f"mysql-replication up: {topo.source.address} → {topo.replica.address} replicating, in {seconds:.2f} s")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--attach", default=None, metavar="redis://HOST:PORT",
              help="Show a cluster the harness did not start: its nodes and what runs each (nothing is changed).")
@click.option("--backend", default="process", show_default=True, type=click.Choice(["process", "docker"]),
              help="With --attach: map nodes to local processes or to Docker containers.")
@click.option("--password-env", default=None, metavar="VAR", help="With --attach: variable holding the password.")
@click.option("--allow-remote", is_flag=True, help="With --attach: allow a non-loopback address.")
@click.pass_obj
def status(state: StateDir, as_json: bool, attach: str | None, backend: str, password_env: str | None,
           allow_remote: bool) -> None:
    """Show every node the harness started: role, master it follows, slots, keys, link, pid.

    \b
    Examples:
      chaos status
      chaos status --json | jq '.[] | select(.role=="master") | .address'
      chaos status --attach redis://127.0.0.1:7001 --backend docker
    """
    from chaos.topology.kinds import load_topology, registry

    if attach:
        _status_attached(state, as_json, attach, backend, password_env, allow_remote)
        return

    topologies = state.load()["topologies"]
    tables = []
    rows: list[dict[str, Any]] = []
    for name, cls in registry().items():
        if name in topologies:
            topo = load_topology(state, name)
            these = topo.status()
            rows += [{"topology": name, **r} for r in these]
            note = getattr(topo, "roles_note", lambda: None)()
            tables.append(f"{name}:\n" + render_table(these, cls.STATUS_COLUMNS) + (f"\n{note}" if note else ""))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif rows:
        click.echo("\n\n".join(tables))
    problems = leftover_report(state, rows)
    for line in problems:
        say(line)
    if not rows and not problems and not as_json:
        say(f"nothing is up in {state.path}")


def _status_attached(state: StateDir, as_json: bool, target: str, backend: str, password_env: str | None,
                     allow_remote: bool) -> None:
    """Discover and print (read only: no state recorded, no restart file kept)."""
    import tempfile

    from chaos.topology.attach import AttachedRedisCluster
    from chaos.topology.attach_input import load_password, password_scope

    with password_scope(), tempfile.TemporaryDirectory(prefix="chaos-status-") as scratch:
        load_password(password_env, target)
        cluster = AttachedRedisCluster.discover(StateDir(scratch), target, backend, allow_remote)
        rows = cluster.status()
        for row in rows:
            row["server"] = cluster.versions.get(row["name"])
            row["runs_as"] = (f"not mapped: {cluster.unmapped[row['name']]}" if row["name"] in cluster.unmapped else
                              f"container {cluster.backend.handle(row['name'])}" if backend == "docker" else
                              f"pid {row['pid']}")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(cluster.describe()[0])
    click.echo(render_table(rows, ["name", "address", "server", "role", "follows", "slots", "keys", "link",
                                   "runs_as"]))
    for note in cluster.notes:
        say(f"note: {note}")


def leftover_report(state: StateDir, rows: list[dict[str, Any]]) -> list[str]:
    """Lines about what a crashed run left: orphaned load processes, paused nodes, firewall
    rules (when no run is going on), each pointing at `chaos down`."""
    from chaos import leftovers
    from chaos.backends.process import pid_status

    data = state.load()
    running = any(e.get("controller") and pid_status(e["controller"]) != "stopped" for e in data["processes"])
    if running:
        return []
    found = leftovers.find(state, docker=False)
    lines = [f"orphaned {p.describe()}" for p in found.processes if p.kind == "load"]
    lines += [f"node {r['name']} is paused (SIGSTOP / docker pause)" for r in rows if r.get("process") == "paused"]
    lines += [f"{line} left" for line in found.describe_traces()]
    if lines:
        lines = ["leftovers of a crashed run:"] + [f"  {line}" for line in lines] + [
            "run `chaos down` to remove them (and everything else the harness started)"]
    return lines


def render_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[("-" if r.get(c) in (None, "") else str(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


@cli.command()
@click.pass_obj
def down(state: StateDir) -> None:
    """Stop and remove everything the harness started (idempotent).

    In order: load processes, then faults (firewall rules; a paused node is resumed before it
    is stopped), then servers and containers. Works after the harness itself was killed (even
    with SIGKILL): what it started is recorded in the state dir, and every process, container
    and rule it starts is marked, so a damaged or missing state.json is no obstacle.

    \b
    Example:
      chaos down
    """
    from chaos.down import down as take_down

    take_down(state, say)
