"""Command-line options made from a settings dataclass: one field, one option.

The train commands' settings live in dataclasses (``bam.configs.TrainConfig``,
``bam.configs.RunConfig``); their options are made from those fields, so a default, a type or
a help text is written once, on the field::

    options_from_dataclass(parser, TrainConfig, ["data", "batch_size", "learning_rate"])
    TrainConfig(**config_values(args, TrainConfig, ["data", "batch_size", "learning_rate"]))

Each field becomes ``--field-name`` (``dest`` the field's name) with

- its type: ``int``, ``float`` or ``str``; ``X | None`` takes an ``X``; ``Literal["a", "b"]``
  gives the choices; ``tuple[int, int]`` takes two values, ``tuple[float, ...]`` one or more; a
  ``bool`` that defaults to true becomes ``--no-field-name`` (false: ``--field-name``);
- its default;
- as help, the field's docstring (the string literal under it) or ``metadata["help"]``, with the
  default added.

``Option`` changes what one field's option looks like (another flag, another default...).

Why this builder and not tyro or jsonargparse (both tried on ``TrainConfig``): each wants to own
the parser, while ``bam`` adds a config's fields to one subcommand of its argparse tree beside
options that are no field (``--out``, ``--resume``, ``--threads``, ``--impl``); and each would
change the documented spellings (tyro: ``--hflip/--no-hflip``; jsonargparse: ``--image_size``,
``--hflip {true,false}``). Building and printing ``TrainConfig``'s help took 0.02-0.05 s here
against 0.14-0.26 s (tyro) and 0.19-0.22 s (jsonargparse), loading 129 modules against 286 and
268 (a busy 2-core machine, two runs each): ``bam ... --help`` is meant to answer at once.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal


class _FromField:
    def __repr__(self) -> str:
        return "FROM_FIELD"


FROM_FIELD: Any = _FromField()
"""An ``Option`` setting left to the field."""


@dataclass(frozen=True)
class Option:
    """How one field's option differs from what the field says.

    Attributes:
        flag: the option's name (default ``--field-name``).
        default: the option's default (default: the field's). ``None`` where the command works
            the real default out later (``--epochs`` when resuming).
        help: the help text (default: the field's docstring, with the default added).
        metavar: argparse's metavar.
    """

    flag: str | None = None
    default: Any = FROM_FIELD
    help: str | None = None
    metavar: str | tuple[str, ...] | None = None


def field_docs(cls: type) -> dict[str, str]:
    """The docstring of each field of ``cls`` (the string literal under it), read with ``ast``;
    ``metadata["help"]`` where a field has one."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    for item in dataclasses.fields(cls):
        if "help" in item.metadata:
            docs[item.name] = str(item.metadata["help"])
    return docs


def _field_default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None


def _argparse_settings(name: str, kind: Any, default: Any) -> dict[str, Any]:
    """argparse's ``type``/``nargs``/``choices``/``action`` for a field annotated ``kind``."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):  # X | None: an X, or the default None
        left = [argument for argument in arguments if argument is not type(None)]
        if len(left) != 1:
            raise TypeError(f"field {name}: {kind} has no single type to parse")
        return _argparse_settings(name, left[0], default)
    if origin is Literal:
        return {"type": type(arguments[0]), "choices": arguments}
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return {"type": arguments[0], "nargs": "+"}
        if arguments and len(set(arguments)) == 1:
            return {"type": arguments[0], "nargs": len(arguments)}
        raise TypeError(f"field {name}: cannot parse {kind} from the command line")
    if kind is bool:
        return {"action": "store_false" if default else "store_true"}
    if kind in (int, float, str):
        return {"type": kind}
    raise TypeError(f"field {name}: cannot parse {kind} from the command line")


def _with_default(text: str, default: Any) -> str:
    if default is None or isinstance(default, bool) or "default" in text:
        return text
    shown = " ".join(str(value) for value in default) if isinstance(default, tuple) else default
    return f"{text} (default {shown})" if text else f"default {shown}"


def options_from_dataclass(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    names: Iterable[str] | Mapping[str, Option | None],
) -> None:
    """Adds one option per field ``names`` of the dataclass ``cls`` to ``parser``.

    Args:
        parser: the command's parser (or an argument group of it).
        cls: a dataclass whose fields have defaults.
        names: the fields to make options of, in the order ``--help`` lists them; a mapping
            gives some of them an ``Option`` (``None``: as the field says).

    Raises:
        ValueError: ``names`` holds a name that is not a field of ``cls``.
        TypeError: a field's type cannot be read from the command line.
    """
    wanted = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names)
    items = {item.name: item for item in dataclasses.fields(cls)}
    unknown = sorted(set(wanted) - set(items))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for name, option in wanted.items():
        option = option or Option()
        field_default = _field_default(items[name])
        settings = _argparse_settings(name, hints[name], field_default)
        default = field_default if option.default is FROM_FIELD else option.default
        flag = option.flag or "--" + name.replace("_", "-")
        if hints[name] is bool and field_default and option.flag is None:
            flag = "--no-" + name.replace("_", "-")
        text = (
            option.help if option.help is not None else _with_default(docs.get(name, ""), default)
        )
        text = text.replace("%", "%%")  # argparse formats help with %(default)s and the like
        if option.metavar is not None:
            settings["metavar"] = option.metavar
        elif option.flag is not None and settings.get("action") is None:  # as argparse names it
            settings["metavar"] = option.flag.lstrip("-").replace("-", "_").upper()
        parser.add_argument(flag, dest=name, default=default, help=text or None, **settings)


def config_values(args: argparse.Namespace, cls: type, names: Iterable[str]) -> dict[str, Any]:
    """The values of the options ``names`` (made by ``options_from_dataclass``), as ``cls``
    takes them: a list of values becomes a tuple."""
    values = {}
    for name in names:
        value = getattr(args, name)
        values[name] = tuple(value) if isinstance(value, list) else value
    return values
