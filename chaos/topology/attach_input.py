"""What a user gives to attach to servers the harness did not start: an address (loopback unless
``--allow-remote``) and a password, read from an environment variable or a prompt, never an
argument, and dropped from this process's environment when the run ends."""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from chaos.clients.resp import PASSWORD_ENV
from chaos.errors import ChaosError


def parse_url(url: str, scheme: str, default_port: int) -> tuple[str | None, str, int]:
    """``scheme://[USER@]HOST[:PORT]`` → (user, host, port); a password in the URL is refused
    (it would sit in the shell history and the process list)."""
    parts = urlsplit(url if "://" in url else f"{scheme}://{url}")
    if parts.scheme != scheme or not parts.hostname:
        raise ChaosError(f"{url!r} is not a {scheme}:// address; give {scheme}://HOST:PORT")
    if parts.password:
        raise ChaosError(f"{scheme}:// addresses must not carry a password (it would show in the process list); "
                         "put it in an environment variable and give --password-env VAR")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ChaosError(f"{url!r}: the port is not a number between 1 and 65535") from None
    return parts.username, parts.hostname, port


def require_loopback(host: str, allow_remote: bool, option: str = "--attach") -> str:
    """The address of ``host``; refuses anything but loopback unless ``--allow-remote``."""
    try:
        address = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0]
    except socket.gaierror:
        raise ChaosError(f"{option}: cannot resolve {host!r}") from None
    if not ipaddress.ip_address(address).is_loopback and not allow_remote:
        raise ChaosError(f"{option} {host} ({address}) is not a loopback address: the harness faults only machines "
                         "it is told it may; add --allow-remote if this one is yours to break")
    return str(address)


def read_password(env_var: str | None, what: str) -> str | None:
    """The value of ``--password-env VAR`` (None without the option); never an argument, never printed."""
    if not env_var:
        return None
    value = os.environ.get(env_var)
    if not value:
        raise ChaosError(f"--password-env {env_var}: that environment variable is not set (export {env_var}=... "
                         f"with the password of {what})")
    return value


def load_password(env_var: str | None, what: str) -> None:
    """``--password-env VAR`` → the harness's own environment, read by every Redis connection
    and inherited by the load processes."""
    value = read_password(env_var, what)
    if value:
        os.environ[PASSWORD_ENV] = value


class password_scope:
    """Set ``CHAOS_REDIS_PASSWORD`` for the length of one attachment and put back what was there
    (several runs can share a process: ``--repeat``, tests), so a password never reaches a
    cluster it does not belong to."""

    def __init__(self) -> None:
        self.saved = os.environ.get(PASSWORD_ENV)

    def close(self) -> None:
        if self.saved is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = self.saved

    def __enter__(self) -> password_scope:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NeedsPassword(ChaosError):
    """The server asked for a password and none was given."""


def prompt_password(what: str) -> str | None:
    """The password typed at a terminal (hidden), None when there is no terminal to ask on."""
    import sys

    import click

    if not sys.stdin.isatty():
        return None
    return click.prompt(f"password for {what} (or give --password-env VAR)", hide_input=True, err=True,
                        default="", show_default=False) or None


