"""The course's facts in one place: its lessons, their exercises, and loading a lesson's code.

Read from the course's own files without importing them (``ast``), so that ``bam check``, the
release, the docs build and the grader can ask "which lessons, which exercises, which are still
stubs" without running a line of student code or importing torch::

    from bam import course

    course.lessons()                  # ('dataset', 'augment', ..., 'yolo'), lessons.COURSE_ORDER
    course.exercises("metrics")       # ('mask_iou', ...), the stub's __all__
    course.stubs()                    # {'metrics': ['box_iou', ...], ...}: exercises not done yet
    course.load("rpn", "solutions")   # the module solutions.rpn (or lessons.rpn)

``load`` is the one door to ``solutions/`` outside the checks' plumbing: figures and pipelines
that draw with the reference go through it, so in a student release (no ``solutions/``) they
fail with a sentence saying so, not a ``ModuleNotFoundError``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
"""The course folder (``lessons/``, ``checks/``, ``bam/``...) this package runs from."""


class CourseError(RuntimeError):
    """The course's files do not say what is asked (a missing lesson, no ``__all__``...)."""


def _assigned(path: Path, name: str) -> object:
    """The literal value assigned to ``name`` at the top level of ``path``, read with ``ast``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as error:
        raise CourseError(f"{path}: cannot be read ({error})") from None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return ast.literal_eval(node.value)
    raise CourseError(f"{path} defines no {name}")


def lessons(root: Path = ROOT) -> tuple[str, ...]:
    """The lessons in course order: ``COURSE_ORDER`` of ``lessons/__init__.py``."""
    return tuple(_assigned(root / "lessons" / "__init__.py", "COURSE_ORDER"))


def exercises(lesson: str, root: Path = ROOT) -> tuple[str, ...]:
    """A lesson's exercises: the ``__all__`` of its stub ``lessons/<lesson>.py``."""
    path = root / "lessons" / f"{lesson}.py"
    if not path.is_file():
        raise CourseError(f"{path} does not exist (lessons: {', '.join(lessons(root))})")
    return tuple(_assigned(path, "__all__"))


def stubs(root: Path = ROOT, package: str = "lessons") -> dict[str, list[str]]:
    """Per lesson, the exercises of ``package`` that still raise ``NotImplementedError``.

    Read from the source (``bam.implementations.is_stub``'s rule on the syntax tree); nothing is
    imported. A lesson that does not parse counts all its exercises as not done.
    """
    left: dict[str, list[str]] = {}
    for lesson in lessons(root):
        path = root / package / f"{lesson}.py"
        try:
            names = exercises(lesson, root)
        except CourseError:  # the stub itself does not parse: the reference's list, if any
            reference = root / "solutions" / f"{lesson}.py"
            names = tuple(_assigned(reference, "__all__")) if reference.is_file() else ()
            left[lesson] = list(names) or [f"lessons/{lesson}.py (does not parse)"]
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            left[lesson] = list(names)
            continue
        defined: dict[str, ast.AST] = {}
        for node in tree.body:
            if hasattr(node, "name"):
                defined[node.name] = node
            for target in getattr(node, "targets", [getattr(node, "target", None)]):
                if isinstance(target, ast.Name):  # a constant exercise, e.g. VGG16_CONFIG
                    defined[target.id] = node
        left[lesson] = [
            name for name in names if name not in defined or _still_a_stub(defined[name])
        ]
    return left


def _still_a_stub(node: ast.AST) -> bool:
    if isinstance(node, (ast.Assign, ast.AnnAssign)):  # a constant left as NotImplemented
        return isinstance(node.value, ast.Name) and node.value.id == "NotImplemented"

    from bam.implementations import is_stub_node

    return is_stub_node(node)


def load(lesson: str, impl: str) -> ModuleType:
    """The module ``<impl>.<lesson>`` (``lessons`` or ``solutions``), with a clear error.

    Raises:
        ImplementationUnavailable: for ``solutions`` in a copy without them (a student
            release), or an unknown ``impl``.
    """
    from bam.implementations import lesson_module

    return lesson_module(lesson, impl)
