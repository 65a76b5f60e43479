"""The ``chaos`` command: a thin Click layer. Commands parse options, build objects, call one
function, and map :class:`~chaos.errors.ChaosError` to a one-line message and an exit code."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from chaos import __version__
from chaos.errors import EXIT_INTERRUPTED, ChaosError
from chaos.options import options_of
from chaos.settings import RedisRunConfig, ReplicationConfig
from chaos.state import DEFAULT_STATE_DIR, StateDir


def say(message: str) -> None:
    click.echo(message, err=True)


class ChaosGroup(click.Group):
    """Turns the harness's own errors into one line on stderr and an exit code, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChaosError as exc:
            click.echo(f"chaos: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("chaos: interrupted; everything started by this command was stopped", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=ChaosGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chaos")
@click.option(
    "--state-dir", envvar="CHAOS_STATE_DIR", default=DEFAULT_STATE_DIR, show_default=True,
    type=click.Path(file_okay=False), help="Where the harness keeps node files and what it started "
    "(env CHAOS_STATE_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, state_dir: str) -> None:
    """Failover and chaos testing for Redis Cluster and MySQL/MariaDB replication.

    \b
    Examples:
      chaos up redis-cluster          # 3 masters + 3 replicas on 127.0.0.11:7001 …
      chaos status                    # roles, slots, keys, links, pids
      chaos down                      # stop and remove everything the harness started

    Exit codes: 0 ok, 1 a check failed, 2 bad input or environment, 130 interrupted.
    """
    ctx.obj = StateDir(state_dir)


class ScenarioGroup(click.Group):
    """`chaos run NAME`: the scenarios' own commands, found in the scenario registry."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from chaos.scenarios_registry import available

        return [name for name, _ in available()]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from chaos.scenarios_registry import command

        return command(name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0]
        cmd = self.get_command(ctx, name)
        if cmd is None and not name.startswith("-"):
            known = ", ".join(self.list_commands(ctx)) or "none"
            raise ChaosError(f"unknown scenario {name!r}; known scenarios: {known} (see `chaos list`)")
        return super().resolve_command(ctx, args)


@cli.group(cls=ScenarioGroup)
def run() -> None:
    """Run a scenario: provision (or attach), load, fault, measure, report.

    \b
    Examples:
      chaos run master-kill
      chaos run master-kill --node-timeout-ms 1000 --slo 'failover_seconds<=5'
    """


@cli.group()
def up() -> None:
    """Start a topology on local processes and wait until it is healthy."""


@up.command("redis-cluster")
@options_of(RedisRunConfig, only=("backend", "masters", "replicas_per_master", "node_timeout_ms", "base_port", "server"))
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for a healthy cluster.")
@click.pass_obj
def up_redis_cluster(state: StateDir, masters: int, replicas_per_master: int,
                     node_timeout_ms: int, base_port: int, timeout: float, backend: str, server: str | None) -> None:
    """Start a Redis Cluster: MASTERS masters, each with REPLICAS-PER-MASTER replicas.

    Node i listens on 127.0.0.(10+i):(BASE_PORT+i-1), bound to that address only, so faults
    can target one node or one link.

    \b
    Examples:
      chaos up redis-cluster
      chaos up redis-cluster --masters 4 --replicas-per-master 2 --node-timeout-ms 1000
      chaos up redis-cluster --backend docker
      chaos up redis-cluster --backend docker --server valkey:9.1
    """
    from chaos.backends import make_backend
    from chaos.topology.redis_cluster import RedisCluster, RedisClusterConfig

    config = RedisClusterConfig(masters=masters, replicas_per_master=replicas_per_master,
                                node_timeout_ms=node_timeout_ms, base_port=base_port, server=server or "")
    config.validate()
    cluster = RedisCluster(state, config, make_backend(backend, state.path))
    seconds = cluster.up(timeout=timeout, say=say)
    say(f"redis-cluster up: {config.masters} masters, {config.masters * config.replicas_per_master} "
        f"replicas, all 16384 slots covered, in {seconds:.2f} s")


@up.command("mysql-replication")
@options_of(ReplicationConfig, only=("backend", "base_port", "server"))
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for replication to run.")
@click.pass_obj
def up_mysql_replication(state: StateDir, base_port: int, timeout: float, backend: str, server: str | None) -> None:
    """Start a MariaDB (or MySQL) source and a replica replicating from it.

    The source is mysql-1 on 127.0.0.21:BASE_PORT, the replica mysql-2 on 127.0.0.22:BASE_PORT+1:
    binary log on, binlog_format=mixed, log_slave_updates, replica read_only, GTID positioning.
    Generated passwords stay in the state dir (mode 0600), never in arguments or reports.

    \b
    Examples:
      chaos up mysql-replication
      chaos up mysql-replication --base-port 4407 && chaos status
    """
    from chaos.backends import make_backend
    from chaos.topology.mysql_replication import MysqlReplication, MysqlReplicationConfig

    topo = MysqlReplication(state, MysqlReplicationConfig(base_port=base_port, version=server or ""),
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
            these = load_topology(state, name).status()
            rows += [{"topology": name, **r} for r in these]
            tables.append(f"{name}:\n" + render_table(these, cls.STATUS_COLUMNS))
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

    from chaos.topology.attach import AttachedRedisCluster, load_password, password_scope

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


def _plan_of(run_dir: str) -> Any:
    from chaos.scenarios_registry import plan

    path = Path(run_dir) / "result.json"
    try:
        name = json.loads(path.read_text()).get("scenario")
    except (OSError, ValueError) as exc:
        raise ChaosError(f"cannot read {path} ({exc}); give the directory of a run") from None
    try:
        return plan(name or "?")
    except ChaosError:
        raise ChaosError(f"{path} names scenario {name!r}, which this chaos does not know") from None


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--slo", multiple=True, help="Check these instead of the run's own SLOs (repeatable).")
def analyze(run_dir: str, slo: tuple[str, ...]) -> None:
    """Recompute a finished run's verdict from its files: the history, timeline.jsonl and the
    final read (checkers are pure functions of them); what could only be measured live (replica
    comparison, table checksums) is kept. Rewrites result.json, report.md and metrics.prom.

    \b
    Examples:
      chaos analyze runs/master-kill-20261129T150155Z
      chaos analyze runs/master-kill-20261129T150155Z --slo 'write_unavailable_seconds<=3'
    """
    from chaos.engine import reanalyze

    raise SystemExit(reanalyze(_plan_of(run_dir), Path(run_dir), list(slo)))


class ReportGroup(click.Group):
    """`chaos report RUN_DIR` shows a run's report; `chaos report compare RUN_DIR...` compares."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--jsonl", is_flag=True, help="Print every record as a plain JSON line (to pipe into jq, grep, ...).")
def history(run_dir: str, jsonl: bool) -> None:
    """A run's operation history: a summary, or with --jsonl every record as a JSON line.

    Finished runs keep it as history.jsonl.zst (zstd-compressed JSON lines, about 20 bytes a
    record); runs of older versions as plain history.jsonl; both read here.

    \b
    Examples:
      chaos history runs/master-kill-20261129T150155Z
      chaos history runs/master-kill-20261129T150155Z --jsonl | jq -c 'select(.type=="info")'
      chaos history RUN_DIR --jsonl > history.jsonl     # the plain file of older versions
    """
    import os

    from chaos.history import history_path, open_lines

    path = history_path(run_dir)
    if not path.exists():
        raise ChaosError(f"{run_dir} has no history (history.jsonl.zst or history.jsonl); is it a run directory?")
    if jsonl:
        with open_lines(path) as lines:
            for line in lines:
                if line.endswith("\n"):
                    click.echo(line, nl=False)
        return
    counts: dict[str, int] = {}
    records = 0
    with open_lines(path) as lines:
        for line in lines:
            if not line.endswith("\n"):
                break
            records += 1
            kind = line[line.index('"type":"') + 8 :].split('"', 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
    size = os.path.getsize(path)
    click.echo(f"{path}: {records} records ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
               f"{size / 1e6:.1f} MB on disk, {size / max(records, 1):.1f} bytes a record")


@cli.group(cls=ReportGroup)
def report() -> None:
    """A run's report, or a comparison of runs.

    \b
    Examples:
      chaos report runs/replica-stop-20261129T151659Z | less
      chaos report runs/master-kill-20261129T150155Z --format html --open
      chaos report compare runs/nt1000-* runs/nt3000-* --group-by node_timeout_ms
    """


@report.command("show")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True,
              help="md and json print to stdout; html (re)writes RUN_DIR/report.html and its charts and prints its path.")
@click.option("--open", "open_it", is_flag=True, help="Open report.html in a browser (with --format html).")
def report_show(run_dir: str, fmt: str, open_it: bool) -> None:
    """Print or render a run's report again from its files (result.json, history, timeline)."""
    from chaos.engine import read_result, report_text, write_reports

    path = Path(run_dir)
    if fmt != "html":
        click.echo(report_text(path, fmt))
        return
    write_reports(path, read_result(path))  # the charts and every report, again
    page = (path / "report.html").absolute()
    click.echo(str(page))
    if open_it:
        import webbrowser

        if not webbrowser.open(page.as_uri()):
            say(f"no browser to open {page} with; open it by hand")


@report.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--group-by", default=None, metavar="KEY",
              help="Group by this setting (e.g. node_timeout_ms, backend) [default: every setting that differs].")
@click.option("--label", "by_label", is_flag=True, help="Group by each run's --label.")
@click.option("--baseline", default=None, help="The group the others are compared with [default: the first].")
@click.option("--min-change", default=0.1, show_default=True,
              help="Smaller changes of a median are shown as ~ (not a regression).")
@click.option("--out", type=click.Path(dir_okay=False), default="compare.html", show_default=True,
              help="The HTML page: dots per run per measurement, throughput curves aligned at the fault.")
def report_compare(run_dirs: tuple[str, ...], group_by: str | None, by_label: bool, baseline: str | None,
                   min_change: float, out: str) -> None:
    """Compare runs: per group n, median and an interval per measurement; against the baseline
    the change of the median with an exact Mann–Whitney p; failed runs and runs that lost writes
    as k of n, with an upper bound on the rate and Fisher's exact test. A difference that is not
    significant (p ≥ 0.05) or below --min-change shows as ~. Exits 1 on a regression beyond that
    (a CI gate). A directory of runs (from --repeat) stands for all of them.

    \b
    Examples:
      chaos report compare runs/master-kill-x6-20261129T200000Z
      chaos report compare runs/a-* runs/b-* --label --baseline before-upgrade
    """
    from chaos.engine.report_writers import comparison

    compare = comparison()
    if compare is None:
        raise ChaosError("no comparison report is installed (the `compare` entry point of chaos.reports)")
    if group_by and by_label:
        raise ChaosError("give either --group-by or --label, not both")
    table, regressed = compare.compare_dirs(run_dirs, Path(out), group_by, by_label, baseline, min_change)
    click.echo(table)
    click.echo(f"page: {Path(out).absolute()}")
    raise SystemExit(1 if regressed else 0)


@cli.group()
def plan() -> None:
    """Capacity planning from measurements taken on this machine."""


@plan.command("redis")
@click.option("--peak-ops", type=float, required=True, help="Peak operations per second the cluster must carry.")
@click.option("--read-share", default=0.3, show_default=True, help="Share of reads in the load.")
@click.option("--p99-ms", default=2.0, show_default=True, help="p99 latency bound of one master (ms).")
@click.option("--keys", type=int, default=None, help="Keys in the dataset [default: 100000, or the sampled "
              "cluster's count].")
@click.option("--value-bytes", default=100, show_default=True, help="Size of a value (memory per key is measured).")
@click.option("--sample", default=None, metavar="redis://HOST:PORT",
              help="Measure memory per key (MEMORY USAGE) and count keys on a real cluster (loopback only).")
@click.option("--growth", default=0.3, show_default=True, help="Growth to plan for, on the peak and the dataset.")
@click.option("--headroom", default=0.3, show_default=True, help="Share of the knee and of memory kept free.")
@click.option("--masters", "masters_text", default="3,4,5,6", show_default=True, help="Master counts to tabulate.")
@click.option("--max-memory", default=None, help="Memory budget of one master, e.g. 4gb [default: 25 % of RAM].")
@click.option("--step-seconds", default=5.0, show_default=True, help="Seconds of each load step.")
@click.option("--workers", default=1, show_default=True, help="Load processes (Locust master/worker mode when >1).")
@click.option("--base-port", default=7401, show_default=True, help="Port of the planning cluster's first node.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: runs/plan-redis-<UTC timestamp>].")
@click.pass_obj
def plan_redis(state: StateDir, masters_text: str, max_memory: str | None, **options: Any) -> None:
    """How many masters a peak and a dataset need, from what one master carries here.

    Starts one master of its own (never the cluster that is up), measures memory per key,
    then offers paced load in rising steps (1000 ops/s × 1.5 each step) until p99 exceeds
    --p99-ms, errors exceed 0.1 % or less than 95 % of the offered rate is achieved: the knee.
    It says when the load generator, not the server, ran out first (their CPU is compared).
    Then it moves 1024 slots to a second master to measure the migration rate, and projects:
    one row per master count (ops/s per master, share of the knee, predicted p99, memory per
    master, whether it fits, whether scaling in to it is safe, time to reshard into it), and
    the recommended count: the largest of the throughput bound, the memory bound and 3.
    Writes plan.json, plan.md and plan.svg.

    \b
    Examples:
      chaos plan redis --peak-ops 50000
      chaos plan redis --peak-ops 200000 --keys 50000000 --value-bytes 512 --max-memory 8gb
    """
    from chaos.capacity import parse_bytes
    from chaos.plan import PlanConfig, Planner

    try:
        masters = [int(x) for x in masters_text.split(",") if x.strip()]
    except ValueError:
        raise ChaosError(f"--masters {masters_text!r}: give master counts separated by commas, e.g. 3,4,5,6") from None
    config = PlanConfig(masters=masters, max_memory=parse_bytes(max_memory) if max_memory else None, **options)
    planner = Planner(state, config, say)
    result = planner.run()
    click.echo(render_plan_table(result))
    click.echo(f"plan: {planner.dir / 'plan.json'} (and plan.md, plan.svg)")


def render_plan_table(plan: dict[str, Any]) -> str:
    rows = [{**r, "memory_per_master": f"{r['memory_per_master_bytes'] / 1e6:.1f} MB",
             "fits": "yes" if r["fits"] else "no", "scale_in_to_safe": "yes" if r["scale_in_to_safe"] else "no"}
            for r in plan["rows"]]
    table = render_table(rows, ["masters", "ops_per_master", "share_of_knee", "predicted_p99_ms",
                                "memory_per_master", "fits", "scale_in_to_safe", "slots_to_move", "reshard_seconds"])
    lower = plan["knee_is_lower_bound"]
    knee = f"{plan['knee_ops_per_master']:.0f} ops/s" + (" or more (the server was not the limit)" if lower else "")
    return (f"{table}\nknee of one master here: {knee}; {plan['bytes_per_key']:.0f} B per key; "
            f"migration {plan['migration_keys_per_second']} keys/s\n"
            f"recommended masters: {'at most ' if lower else ''}{plan['recommended_masters']} (throughput bound "
            f"{plan['throughput_bound']}, memory bound {plan['memory_bound']}, at least 3)"
            + ("\nthe knee is a lower bound, so fewer masters may do: measure with more load processes "
               "(--workers) or from another machine" if lower else ""))


@cli.group()
def images() -> None:
    """Docker images for --backend docker, built locally with debootstrap (no registry needed)."""


@images.command("build")
@click.argument("kind", type=click.Choice(["redis", "valkey", "mysql"]), default="redis")
@click.option("--release", default=None, metavar="bookworm|trixie|sid",
              help="Debian release to take the server from [default: this machine's]. Measured: bookworm has "
              "redis 7.0 and mariadb 10.11; trixie redis 8.0, valkey 8.1, mariadb 11.8; sid redis 8.0, valkey 9.1.")
@click.option("--mirror", default=None, help="Debian mirror [default: the one in this machine's apt sources].")
def images_build(kind: str, release: str | None, mirror: str | None) -> None:
    """Build an image of KIND (redis, valkey, mysql): debootstrap a minimal Debian with the
    server packages, then docker import it, tagged after the version installed
    (chaos/redis:7.0, chaos/valkey:9.1, chaos/mariadb:11.8). Needs root and a running Docker
    engine. Use it with --server (e.g. --server valkey:9.1) on `chaos up` and `chaos run`.

    \b
    Examples:
      chaos images build redis && chaos up redis-cluster --backend docker
      chaos images build valkey --release sid && chaos run master-kill --backend docker --server valkey:9.1
      chaos images build mysql && chaos run replica-stop --backend docker
    """
    from chaos.images import build_image

    tag, seconds = build_image(kind, say, mirror, release)
    say(f"image {tag} built in {seconds:.1f} s")


@images.command("list")
def images_list() -> None:
    """The images built for the docker backend: server, version, Debian release, size, age."""
    from chaos.images import list_images

    rows = list_images()
    if rows:
        click.echo(render_table(rows, ["image", "server", "version", "release", "size", "age"]))
    else:
        say("no image built yet; build one with `chaos images build redis`")


@cli.command("list")
def list_scenarios() -> None:
    """List the scenarios `chaos run` knows, with a one-line description each."""
    from chaos.scenarios_registry import available

    scenarios = available()
    if not scenarios:
        say("no scenarios yet")
    for name, summary in scenarios:
        click.echo(f"{name:16} {summary}")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:  # pragma: no cover - console entry point
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so teardown in `finally` still runs.
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(cli())
