"""The course's facts in one place: its lessons, their exercises, and loading a lesson's code.

Read from the course's own files without importing them (``ast``), so that ``bam check``, the
release, the docs build and the grader can ask "which lessons, which exercises, which are still
stubs" without running a line of student code or importing torch::

    from bam import course

    course.lessons()                  # ('dataset', 'augment', ..., 'yolo'), lessons.COURSE_ORDER
    course.exercises("metrics")       # ('mask_iou', ...), the stub's __all__
    course.stubs()                    # {'metrics': ['box_iou', ...], ...}: exercises not done yet
    course.exported(source)           # the __all__ of a lesson's text (a committed blob, a save)
    course.load("rpn", "solutions")   # the module solutions.rpn (or lessons.rpn)

``load`` is the one door to ``solutions/`` outside the checks' plumbing: figures and pipelines
that draw with the reference go through it, so in a student release (no ``solutions/``) they
fail with a sentence saying so, not a ``ModuleNotFoundError``.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType

from bam import implementations

ROOT = Path(__file__).resolve().parent.parent
"""The course folder (``lessons/``, ``checks/``, ``bam/``...) this package runs from."""


class CourseError(RuntimeError):
    """The course's files do not say what is asked (a missing lesson, no ``__all__``...)."""


def _parse(source: str, filename: str) -> ast.Module:
    try:
        return ast.parse(source, filename=filename)
    except (SyntaxError, ValueError) as error:  # ValueError: a NUL byte in the source
        raise CourseError(f"{filename}: does not parse ({error})") from None


def _read(path: Path) -> ast.Module:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path}: cannot be read ({error})") from None
    return _parse(source, str(path))


def _assigned_in(tree: ast.Module, name: str, filename: str) -> object:
    """The literal value assigned to ``name`` at the top level of ``tree``."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                raise CourseError(f"{filename}: {name} is not a literal") from None
    raise CourseError(f"{filename} defines no {name}")


def _assigned(path: Path, name: str) -> object:
    """The literal value assigned to ``name`` at the top level of ``path``, read with ``ast``."""
    return _assigned_in(_read(path), name, str(path))


def defined_names(tree: ast.Module) -> dict[str, ast.stmt]:
    """The top-level statement defining each name of a module: ``def``, ``class`` or assignment
    (an exercise may be a constant, e.g. ``VGG16_CONFIG``); names in the order they first
    appear, each with its last definition (the one Python keeps)."""
    defined: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined[node.name] = node
        for target in getattr(node, "targets", [getattr(node, "target", None)]):
            if isinstance(target, ast.Name):
                defined[target.id] = node
    return defined


def exported(
    source: str, filename: str = "<lesson>", *, file_order: bool = False
) -> tuple[str, ...]:
    """The exercises of a lesson module's source: its ``__all__``, read with ``ast``.

    Args:
        source: the module's text (a stub, a student's file, a committed blob...).
        filename: named in errors.
        file_order: order them as the file defines them (the order the lesson teaches them
            in) instead of ``__all__``'s order; names it does not define come last.

    Raises:
        CourseError: the source does not parse, or has no literal ``__all__``.
    """
    tree = _parse(source, filename)
    names = tuple(str(name) for name in _assigned_in(tree, "__all__", filename))
    if not file_order:
        return names
    defined = [name for name in defined_names(tree) if name in names]
    return (*defined, *(name for name in names if name not in defined))


def lessons(root: Path = ROOT) -> tuple[str, ...]:
    """The lessons in course order: ``COURSE_ORDER`` of ``lessons/__init__.py``."""
    return tuple(_assigned(root / "lessons" / "__init__.py", "COURSE_ORDER"))


def exercises(lesson: str, root: Path = ROOT, *, file_order: bool = False) -> tuple[str, ...]:
    """A lesson's exercises: the ``__all__`` of its stub ``lessons/<lesson>.py``.

    ``file_order``: in the order the file defines them (see ``exported``).
    """
    path = root / "lessons" / f"{lesson}.py"
    if not path.is_file():
        raise CourseError(f"{path} does not exist (lessons: {', '.join(lessons(root))})")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"{path}: cannot be read ({error})") from None
    return exported(source, str(path), file_order=file_order)


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
            defined = defined_names(_read(path))
        except CourseError:
            left[lesson] = list(names)
            continue
        left[lesson] = [
            name for name in names if name not in defined or _still_a_stub(defined[name])
        ]
    return left


def _still_a_stub(node: ast.AST) -> bool:
    if isinstance(node, (ast.Assign, ast.AnnAssign)):  # a constant left as NotImplemented
        return isinstance(node.value, ast.Name) and node.value.id == "NotImplemented"

    return implementations.is_stub_node(node)


_SUBSTITUTE: ContextVar[Callable[[str], ModuleType] | None] = ContextVar("bam_load", default=None)


@contextlib.contextmanager
def drawing_with(modules: Callable[[str], ModuleType]) -> Iterator[None]:
    """Within the block, ``load(lesson, impl)`` returns ``modules(lesson)``, whatever ``impl``.

    How a notebook draws the course's figures (which ``load`` the reference) with the student's
    own functions (``bam.notebooks.kernel.figure``); nothing changes outside the block.
    """
    token = _SUBSTITUTE.set(modules)
    try:
        yield
    finally:
        _SUBSTITUTE.reset(token)


def load(lesson: str, impl: str) -> ModuleType:
    """The module ``<impl>.<lesson>`` (``lessons`` or ``solutions``), with a clear error.

    Inside ``drawing_with(modules)``, ``modules(lesson)`` instead.

    Raises:
        ImplementationUnavailable: for ``solutions`` in a copy without them (a student
            release), or an unknown ``impl``.
    """
    substitute = _SUBSTITUTE.get()
    if substitute is not None:
        return substitute(lesson)
    return implementations.lesson_module(lesson, impl)


# ----------------------------------------------------------------------------- from scratch

LIBRARIES: dict[str, str] = {
    "torchvision.ops": "torchvision's detection operators (nms, box_iou, roi_pool, roi_align...)",
    "torchvision.models": "torchvision's models (vgg16, FasterRCNN, its RPN, RoIHeads...)",
    "torchvision.transforms": "torchvision's transforms",
    "albumentations": "Albumentations' transforms",
    "pycocotools": "COCO's evaluation code",
    "torchmetrics": "torchmetrics' metrics",
    "sklearn.metrics": "scikit-learn's metrics",
}
"""Every library module the from-scratch rule watches (a dotted prefix), and what it is."""

_DETECTION = ("torchvision.ops", "torchvision.models", "pycocotools", "torchmetrics")

FROM_SCRATCH: dict[str, tuple[tuple[str, ...], str]] = {
    "dataset": (
        (*_DETECTION, "torchvision.transforms"),
        "lesson 1 builds box resizing, masks_to_boxes and collation from scratch",
    ),
    "augment": (
        (*_DETECTION, "torchvision.transforms", "albumentations"),
        "lesson 2 writes each augmentation itself, for image, mask and boxes at once",
    ),
    "metrics": (
        (*_DETECTION, "sklearn.metrics"),
        "lesson 3 builds IoU, Dice and (m)AP from scratch",
    ),
    "sam": (_DETECTION, "lesson 4 builds the prompts, the loss and the training step itself"),
    "vgg": (_DETECTION, "lesson 5 builds VGG16's layers from scratch"),
    "rpn": (
        _DETECTION,
        "lesson 6 builds anchors, box coding, matching, sampling and NMS from scratch",
    ),
    "roi": (_DETECTION, "lesson 7 builds RoI pooling and RoIAlign from scratch"),
    "head": (_DETECTION, "lesson 8 builds the detection head, its loss and post-processing"),
    "detector": (_DETECTION, "lesson 9 puts the course's own parts together into Faster R-CNN"),
    "yolo": (_DETECTION, "lesson 10 builds the YOLO targets, loss and decoding from scratch"),
    "instances": (
        (*_DETECTION, "sklearn.metrics"),
        "lesson 11 builds mask pasting, mask IoU and mask AP from scratch",
    ),
}
"""Per lesson: the library modules its exercises must not call, and why (``bam check``, the
Gradescope grader and the docs read this one table). A call from the student's lesson file to
one of them, seen while the checks run, gives the exercise 0 points."""

EXEMPT: dict[str, str] = {
    "augment.build_pipeline": "composing Albumentations' transforms is this exercise's point",
}
"""Exercises for which using a library is the point (exempt from the rule), and why."""


def forbidden(exercise: str) -> tuple[tuple[str, ...], str]:
    """The library modules ``exercise`` (``"lesson.name"``) must not call, and why.

    Returns ``((), reason)`` for an exempt exercise and ``((), "")`` for an unknown lesson.
    """
    if exercise in EXEMPT:
        return (), EXEMPT[exercise]
    return FROM_SCRATCH.get(exercise.split(".", 1)[0], ((), ""))


def is_forbidden(exercise: str, called: str) -> bool:
    """Whether ``exercise`` may not call the library function or class named ``called``."""
    prefixes, _ = forbidden(exercise)
    if called.startswith("torch.ops.torchvision."):  # the compiled kernels behind torchvision.ops
        called = "torchvision.ops." + called.removeprefix("torch.ops.torchvision.")
    return any(called == prefix or called.startswith(prefix + ".") for prefix in prefixes)


# ----------------------------------------------------------------------------- unfinished exercises


class UnfinishedExercises(RuntimeError):
    """Exercises a pipeline needs still raise ``NotImplementedError``; the message names them."""


def unfinished(impl: str, needed: dict[str, tuple[str, ...]]) -> list[str]:
    """``impl/lesson.py::name`` for each needed exercise that is still a stub."""
    missing = []
    for lesson, names in needed.items():
        module = implementations.lesson_module(lesson, impl)
        missing += [
            f"{impl}/{lesson}.py::{name}"
            for name in names
            if not hasattr(module, name) or implementations.is_stub(getattr(module, name))
        ]
    return missing


def require_finished(impl: str, needed: dict[str, tuple[str, ...]], pipeline: str) -> None:
    """Raises ``UnfinishedExercises`` naming every stub that ``pipeline`` would run into."""
    missing = unfinished(impl, needed)
    if missing:
        hints = [
            f"{where}  (bam hint {where.split('/')[1].replace('.py::', '.')})" for where in missing
        ]
        used = [lesson for lesson in lessons() if lesson in needed]
        uses = ", ".join(
            f"lesson {lessons().index(lesson) + 1} {lesson} ({', '.join(needed[lesson])})"
            for lesson in used
        )
        fallback = (
            "or run the reference with --impl solutions."
            if implementations.solutions_available()
            else f"lesson by lesson: bam check {used[0]}, then the next (this copy has no"
            " reference solutions to run instead)."
        )
        raise UnfinishedExercises(
            f"these exercises are not implemented yet, and {pipeline} runs them all:\n  "
            + "\n  ".join(hints)
            + f"\nIt uses the exercises of {uses}."
            + f"\nFinish them (`bam check` grades them), {fallback}"
        )
