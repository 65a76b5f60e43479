"""`chaos images build|list`: the images of the docker backend."""

from __future__ import annotations

import click

from chaos.cli.root import cli, say
from chaos.cli.topology import render_table


@cli.group()
def images() -> None:
    """Docker images for --backend docker, built locally with debootstrap (no registry needed)."""


@images.command("build")
@click.argument("kind", type=click.Choice(["redis", "valkey", "mariadb", "mysql"]), default="redis")
@click.option("--release", default=None, metavar="bookworm|trixie|sid",
              help="Debian release to take the server from [default: this machine's; sid for mysql]. Measured: "
              "bookworm has redis 7.0 and mariadb 10.11; trixie redis 8.0, valkey 8.1, mariadb 11.8; sid redis 8.0, "
              "valkey 9.1, Oracle MySQL 9.7.")
@click.option("--mirror", default=None, help="Debian mirror [default: the one in this machine's apt sources].")
@click.option("--push", "push_to", default=None, metavar="REGISTRY[/PREFIX]", help="Push the image there once built.")
def images_build(kind: str, release: str | None, mirror: str | None, push_to: str | None) -> None:
    """Build an image of KIND (redis, valkey, mariadb, mysql: Oracle MySQL): debootstrap a
    minimal Debian with the server packages, then docker import it, tagged after the version
    installed (chaos/redis:7.0, chaos/valkey:9.1, chaos/mariadb:11.8, chaos/mysql:9.7). Needs root
    and a running Docker engine. Use it with --server (e.g. --server mysql:9.7) on `chaos up` and
    `chaos run`. `mysql --release bookworm|trixie` (MariaDB's spelling until now) still builds
    MariaDB, with a note.

    \b
    Examples:
      chaos images build redis && chaos up redis-cluster --backend docker
      chaos images build valkey --release sid && chaos run master-kill --backend docker --server valkey:9.1
      chaos images build mariadb && chaos run replica-stop --backend docker
      chaos images build mysql && chaos run replica-stop --backend docker --server mysql:9.7
    """
    from chaos.images import build_image

    tag, seconds = build_image(kind, say, mirror, release)
    say(f"image {tag} built in {seconds:.1f} s")
    if push_to:
        from chaos.images import push_images

        say(f"pushed {', '.join(push_images(push_to, say, tag))}")


@images.command("push")
@click.argument("registry", metavar="REGISTRY[/PREFIX]")
@click.option("--image", "only", default=None, metavar="REF", help="Push only this image (e.g. chaos/redis:7.0).")
def images_push(registry: str, only: str | None) -> None:
    """Publish the images `chaos images build` made to a registry, labels kept: chaos/redis:7.0
    becomes REGISTRY/chaos/redis:7.0 (or REGISTRY/PREFIX/redis:7.0). A registry on a loopback
    address is spoken to over plain HTTP, as Docker allows.

    \b
    Examples:
      chaos images push 127.0.0.1:5000
      chaos images push 127.0.0.1:5000/team --image chaos/mariadb:10.11
    """
    from chaos.images import push_images

    pushed = push_images(registry, say, only)
    say(f"pushed {len(pushed)} image(s): {', '.join(pushed)}")


@images.command("list")
@click.option("--registry", default=None, metavar="HOST:PORT", help="List a registry's repositories and tags instead.")
def images_list(registry: str | None) -> None:
    """The images built for the docker backend: server, version, Debian release, size, age; or
    with --registry, what a registry holds."""
    from chaos.images import list_images, registry_catalog

    if registry:
        found = registry_catalog(registry)
        if found:
            click.echo(render_table(found, ["image", "repository", "tag"]))
        else:
            say(f"the registry at {registry} holds no image")
        return
    rows = list_images()
    if rows:
        click.echo(render_table(rows, ["image", "server", "version", "release", "size", "age"]))
    else:
        say("no image built yet; build one with `chaos images build redis`")
