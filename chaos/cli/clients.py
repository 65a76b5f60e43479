"""`chaos clients install|list`: the client libraries of the client view (``--clients``)."""

from __future__ import annotations

import click

from chaos.cli.root import cli, say
from chaos.cli.topology import render_table


@cli.group()
def clients() -> None:
    """Client libraries the client view runs beside the recorder (``chaos run … --clients
    redis-py,ioredis@5``): installed by name and pinned version into a cache the harness manages
    ($CHAOS_CLIENTS_DIR, else ~/.cache/chaos/clients), from PyPI or npm; never vendored. A run
    installs what it names on first use; this installs ahead (e.g. before going offline)."""


@clients.command("install")
@click.argument("names", nargs=-1, required=True, metavar="NAME[@VERSION]...")
def clients_install(names: tuple[str, ...]) -> None:
    """Install NAME[@VERSION] (redis-py, redis-py@7, redis-py@7.4.1, ioredis@5): the newest
    release matching the version given; Node clients need node and npm on the PATH."""
    from chaos.appclients import install, parse_clients

    for spec in parse_clients(",".join(names)):
        version = install(spec, say)
        say(f"{spec.label}: {spec.library.package} {version} in {spec.home}")


@clients.command("list")
def clients_list() -> None:
    """The client libraries known, and those installed in the cache."""
    from chaos.appclients import LIBRARIES, cache_dir, installed

    say(render_table([{"client": lib.name, "for": lib.family, "from": lib.ecosystem, "package": lib.package,
                       "runs as": lib.model, "defaults on a dying node": lib.defaults} for lib in LIBRARIES.values()],
                     ["client", "for", "from", "package", "runs as", "defaults on a dying node"]))
    vendor = [lib for lib in LIBRARIES.values() if lib.vendor]
    say("\n--client-profile vendor: " + "; ".join(
        f"{lib.name}: " + ", ".join(f"{k}={v}" for k, v in (lib.vendor or {}).items()) + f" ({lib.vendor_source})"
        for lib in vendor) + "; the others run with their defaults")
    found = installed()
    say(f"\ninstalled in {cache_dir()}:" if found else f"\nnothing installed yet in {cache_dir()}")
    if found:
        say(render_table([{**i, "asked for": i["requested"]} for i in found],
                         ["client", "version", "asked for", "path"]))
