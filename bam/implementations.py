"""Whose code a pipeline runs: the student's ``lessons`` or the reference ``solutions``.

Training, evaluation and figure commands take ``--impl lessons|solutions``. In the instructors'
copy of the course the default is ``solutions`` (the reference, so the pipelines work before any
exercise is done); in a student release, which has no ``solutions/``, the default is ``lessons``,
and asking for ``solutions`` fails with a message that says so instead of a ModuleNotFoundError::

    from bam.implementations import add_impl_argument, lesson_module

    def add_arguments(parser):
        add_impl_argument(parser)

    def run(args):
        rpn = lesson_module("rpn", args.impl)   # raises ImplementationUnavailable with advice
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import textwrap
from types import ModuleType

IMPLEMENTATIONS = ("lessons", "solutions")


class ImplementationUnavailable(RuntimeError):
    """The requested implementation is not in this copy of the course; the message says what to do."""


def solutions_available() -> bool:
    """Whether the reference ``solutions`` package can be imported (false in a student release)."""
    try:
        return importlib.util.find_spec("solutions") is not None
    except (ImportError, ValueError):
        return False


def default_impl() -> str:
    """``"solutions"`` where the reference is available, else ``"lessons"``."""
    return "solutions" if solutions_available() else "lessons"


def add_impl_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--impl {lessons,solutions}`` with this copy's default."""
    default = default_impl()
    parser.add_argument(
        "--impl",
        choices=IMPLEMENTATIONS,
        default=default,
        help=f"run your own code (lessons) or the reference (solutions); default here: {default}",
    )


def lesson_module(lesson: str, impl: str) -> ModuleType:
    """The module ``<impl>.<lesson>``, e.g. ``lessons.rpn``.

    Raises:
        ImplementationUnavailable: for ``solutions`` in a copy without them, or an unknown impl.
    """
    if impl not in IMPLEMENTATIONS:
        raise ImplementationUnavailable(
            f"--impl {impl!r}: choose one of {', '.join(IMPLEMENTATIONS)}"
        )
    if impl == "solutions" and not solutions_available():
        raise ImplementationUnavailable(
            "--impl solutions needs the reference solutions, and this copy of the course has"
            " none (a student release). Use --impl lessons to run your own code."
        )
    return importlib.import_module(f"{impl}.{lesson}")


# ----------------------------------------------------------------------------- unfinished exercises


def _raises_not_implemented(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(statement, ast.Raise)
        and statement.exc is not None
        and "NotImplementedError" in ast.unparse(statement.exc)
        for statement in function.body
    )


def is_stub(obj: object) -> bool:
    """Whether a function (or a method of a class) still raises ``NotImplementedError`` at its top level.

    The one test of "not done yet" for the pipelines: read from the source, so nothing runs.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))  # type: ignore[arg-type]
    except (OSError, TypeError, SyntaxError):
        return False
    return is_stub_node(tree.body[0] if tree.body else None)


def is_stub_node(node: ast.AST | None) -> bool:
    """``is_stub``'s rule on a parsed definition (``bam.course`` reads whole files with it)."""
    if isinstance(node, ast.ClassDef):
        return any(
            isinstance(item, ast.FunctionDef) and _raises_not_implemented(item)
            for item in node.body
        )
    return isinstance(node, ast.FunctionDef) and _raises_not_implemented(node)
