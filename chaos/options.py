"""Each setting declared once: a field of a run config dataclass, its command-line option in the
field's metadata (``option(default, help, ...)``). :func:`options_of` turns a config class into
Click options (``--field-name``, the type from the annotation, the default from the field), and
:func:`chaos.engine.command.scenario_command` into a scenario's whole command, whose arguments are
exactly the config's fields. A subclass that only changes a default (``users: int = 8``) keeps the help of
the field it overrides."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

import click


@dataclass(frozen=True)
class Opt:
    """How a config field shows on the command line."""

    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    type: Any = None  # a click type; default: from the field's annotation
    multiple: bool = False
    show_default: bool | None = None  # default: when there is a default worth showing


def option(default: Any = None, help: str = "", *, factory: Callable[[], Any] | None = None, **how: Any) -> Any:
    """A config field with its command-line option (see :class:`Opt`)."""
    metadata = {"option": Opt(help=help, **how)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _opt(cls: type, name: str) -> Opt | None:
    """The option of field ``name``: its own, or that of the nearest base class declaring one."""
    for klass in cls.__mro__:
        declared: Field[Any] | None = getattr(klass, "__dataclass_fields__", {}).get(name)
        if declared is not None and "option" in declared.metadata:
            return declared.metadata["option"]
    return None


def _base_type(annotation: Any) -> Any:
    """int / float / str / bool of an annotation like ``float | None``; None if mixed."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else None
    return annotation


def options_of(cls: type, only: Iterable[str] | None = None,
               exclude: Iterable[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Click options for the fields of config class ``cls`` that declare one, in field order
    (``only``: just those; ``exclude``: all but those). ``backend`` offers ``cls.BACKENDS``."""
    hints = typing.get_type_hints(cls)
    wanted = set(only) if only is not None else None
    made = []
    for f in fields(cls):
        opt = _opt(cls, f.name)
        if opt is None or f.name in exclude or (wanted is not None and f.name not in wanted):
            continue
        default: Any = f.default_factory() if f.default_factory is not MISSING else f.default
        kind = _base_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        kwargs: dict[str, Any] = {"help": opt.help, "metavar": opt.metavar}
        choices = tuple(cls.BACKENDS) if f.name == "backend" else opt.choices  # type: ignore[attr-defined]
        if kind is bool and not opt.multiple:
            kwargs.update(is_flag=True, default=bool(default))
        else:
            if choices:
                click_type: Any = click.Choice(list(choices))
            else:  # declared, or the annotation's (int, float, str); text for anything else
                click_type = opt.type or (kind if kind in (int, float, str) else str)
            kwargs.update(default=tuple(default) if opt.multiple else default, multiple=opt.multiple, type=click_type)
        show = opt.show_default if opt.show_default is not None else default not in (None, False, (), [])
        kwargs["show_default"] = show and kind is not bool
        made.append(click.option(flag, **kwargs))

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for make in reversed(made):
            command = make(command)
        return command
    return decorate


def config_from_options(cls: type, options: dict[str, Any]) -> Any:
    """The config ``cls`` of a command's parsed options (repeatable options become lists)."""
    return cls(**{k: list(v) if isinstance(v, tuple) else v for k, v in options.items()})


SERVER_HELP = ("Server of a topology this run starts: {what}. Docker backend: the image chaos/NAME:VERSION from "
               "`chaos images build` (default: the newest built); process backend: the binary installed here, checked "
               "against VERSION.")
REDIS_SERVERS = "redis or valkey, optionally :MAJOR.MINOR (redis:7.0, redis:8.0, valkey:8.1, valkey:9.1)"
MYSQL_SERVERS = ("mariadb or mysql (Oracle MySQL), optionally :MAJOR.MINOR (mariadb:10.11, mariadb:11.8, mysql:9.7; "
                 "MySQL on the docker backend)")
