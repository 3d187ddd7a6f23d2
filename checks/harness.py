"""What a check is made of: the exercise it grades, the code under test, and clear failures.

A check is a pytest test in ``checks/test_<lesson>.py``::

    @exercise("metrics.box_iou", points=2)
    @given(box_pairs())
    def test_box_iou_matches_torchvision(pair):
        '''box_iou equals torchvision.ops.box_iou on valid boxes.'''
        box_iou = student("metrics.box_iou")
        ...
        expect_close(box_iou(a, b), torchvision.ops.box_iou(a, b), "IoU of each pair")

* ``exercise`` ties the check to one exercise and gives it points (put it above ``@given``).
* ``student`` fetches the exercise from the package being graded (``lessons`` by default,
  ``solutions`` with ``--solutions``). The graded code runs in a separate worker process
  (``checks/worker/``), never in the grader: what comes back is data (tensors, numbers,
  strings, containers of them) or a mirror of a module that lives in the worker. Calls are
  watched: an untouched stub becomes "not implemented yet", an in-place edit of an input tensor
  fails with a message saying so. Keyword arguments name *callees*: other exercises of the same
  lesson that this exercise calls, replaced by a reference (an oracle, never ``solutions/``) so
  that one unfinished exercise never fails another's check.
* ``expect``, ``expect_tensor`` and ``expect_close`` fail with a sentence that names the property.
  Their frames are hidden from tracebacks, so a student sees their own code and the message.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

# the exceptions live in checks.errors (below the worker too); re-exported here for the checks
from checks.errors import CheckFailed as CheckFailed
from checks.errors import CheckTimedOut as CheckTimedOut
from checks.errors import ExerciseNotImplemented as ExerciseNotImplemented
from checks.errors import GradingProcessEnded as GradingProcessEnded
from checks.errors import InPlaceEdit
from checks.worker import Worker
from checks.worker.inplace import changed as _changed  # noqa: F401 - re-exported
from checks.worker.inplace import snapshot as _snapshot  # noqa: F401 - re-exported

F = TypeVar("F", bound=Callable[..., Any])

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT_SECONDS = 60.0


@dataclass
class GradingSession:
    """What is being graded in this pytest run (set up by ``checks/conftest.py``)."""

    package: str = "lessons"
    mutant: str | None = None
    references: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _worker: Worker | None = None

    @property
    def worker(self) -> Worker:
        """The worker process that runs the graded code (started at the first call)."""
        if self._worker is None:
            self._worker = Worker(self.package, self.mutant, self.active_references)
        return self._worker

    def module(self, lesson: str) -> LessonModule:
        """The graded module of a lesson (imported in the worker), with a clear failure when that breaks."""
        __tracebackhide__ = True
        self.worker.describe(lesson, "__name__")
        return LessonModule(lesson)

    def display_path(self, lesson: str) -> str:
        return f"{self.package}/{lesson}.py"

    def active_references(self, extra: tuple[str, dict[str, Any]] | None = None) -> dict:
        """Lesson -> {callee: reference} in force now (``use_references`` blocks, then ``extra``)."""
        active: dict[str, dict[str, Any]] = {}
        for lesson, references in [*self.references, *([extra] if extra else [])]:
            active.setdefault(lesson, {}).update(references)
        return active

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()


SESSION = GradingSession()


def _failure_seen() -> None:
    """A check found a failure: the session's worker stops counting the check's time."""
    worker = SESSION._worker
    if worker is not None:
        worker.failure_seen = True  # shrinking the example does not count against the time


CheckFailed.on_failure = _failure_seen


def configure(package: str, mutant: str | None = None) -> GradingSession:
    """Starts a grading session for ``package`` (``lessons``, ``solutions`` or another copy)."""
    global SESSION
    SESSION.close()
    SESSION = GradingSession(package=package, mutant=mutant)
    return SESSION


class LessonModule:
    """A graded lesson module as the grader sees it: its names, each fetched from the worker."""

    def __init__(self, lesson: str) -> None:
        self.__lesson = lesson

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_LessonModule__"):
            raise AttributeError(name)
        info = SESSION.worker.describe(self.__lesson, name)
        if info.get("kind") == "missing":
            raise AttributeError(f"{SESSION.display_path(self.__lesson)} has no {name!r}")
        return student(f"{self.__lesson}.{name}")

    def __repr__(self) -> str:
        return f"<graded module {SESSION.package}.{self.__lesson} (in the worker)>"


def split_name(name: str) -> tuple[str, str]:
    """``"metrics.box_iou"`` -> ``("metrics", "box_iou")``."""
    lesson, _, attribute = name.partition(".")
    if not lesson or not attribute:
        raise ValueError(f"exercise names look like 'lesson.name', got {name!r}")
    return lesson, attribute


def exercise(
    name: str, points: int = 1, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Callable[[F], F]:
    """Marks a check as grading one exercise.

    Args:
        name: ``"<lesson>.<exercise>"``, e.g. ``"metrics.box_iou"``.
        points: what passing this check is worth.
        timeout: seconds before the check fails as "too slow" (pytest-timeout, signal method).
    """
    split_name(name)

    def mark(check: F) -> F:
        check = pytest.mark.timeout(timeout)(check)
        return pytest.mark.exercise(name=name, points=points)(check)

    return mark


# ----------------------------------------------------------------------------- code under test


@contextlib.contextmanager
def use_references(lesson: str, **references: Any) -> Iterator[None]:
    """Temporarily replaces other exercises of ``lesson`` by references (the callee rule).

    Use for classes; ``student(..., **references)`` does this around each call of a function.
    The replacement happens in the worker, around every call made inside the ``with`` block.
    """
    _check_callees(lesson, references)
    entry = (lesson, dict(references))
    SESSION.references.append(entry)
    try:
        yield
    finally:
        SESSION.references.remove(entry)


def _check_callees(lesson: str, references: dict[str, Any]) -> None:
    for callee in references:
        if SESSION.worker.describe(lesson, callee).get("kind") == "missing":
            raise ValueError(f"{lesson} has no {callee!r} to replace")


class RemoteClass:
    """A class of the graded package: calling it builds an instance in the worker (a mirror here)."""

    def __init__(self, lesson: str, name: str, info: dict, references: dict[str, Any]) -> None:
        self.lesson, self.references = lesson, references
        self.__name__ = self.__qualname__ = str(info.get("name", name))
        self.__doc__ = str(info.get("doc", ""))
        self.attribute = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        references = SESSION.active_references((self.lesson, self.references))
        return SESSION.worker.call(
            ("attr", self.lesson, self.attribute),
            args,
            kwargs,
            references,
            what=f"{SESSION.display_path(self.lesson)}::{self.attribute}",
        )

    def __repr__(self) -> str:
        return f"<class {self.__name__} of {SESSION.package}.{self.lesson} (in the worker)>"


def student(name: str, **references: Any) -> Any:
    """The exercise ``name`` from the package being graded, watched while it runs.

    Args:
        name: ``"<lesson>.<exercise>"``.
        **references: callee name -> reference implementation, swapped into the lesson module
            for the duration of each call.

    Returns:
        For a function, a wrapper with the same signature that runs it in the worker. For a
        class, a stand-in whose instances are mirrors of modules built in the worker (use
        ``use_references`` and ``not_implemented_guard`` around it). For data (a constant such
        as ``VGG16_CONFIG``), its value.
    """
    __tracebackhide__ = True
    lesson, attribute = split_name(name)
    worker = SESSION.worker
    info = worker.describe(lesson, attribute)
    where = f"{SESSION.display_path(lesson)}::{attribute}"
    kind = info.get("kind")
    if kind == "missing":
        raise CheckFailed(f"{SESSION.display_path(lesson)} has no `{attribute}` (was it renamed?)")
    if references:
        _check_callees(lesson, references)
    if kind == "data":
        return info.get("value")
    if kind == "class":
        return RemoteClass(lesson, attribute, info, references)
    if kind != "function":
        raise CheckFailed(f"{where} is {info.get('type')}, which the grader cannot receive")
    parameters = [str(p) for p in info.get("parameters", [])]

    def watched(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            with not_implemented_guard(where):
                return worker.call(
                    ("attr", lesson, attribute),
                    args,
                    kwargs,
                    SESSION.active_references((lesson, references)),
                    watch=True,
                    what=name,
                )
        except InPlaceEdit as edit:
            argument = edit.argument
            if isinstance(argument, int):
                argument = parameters[argument] if argument < len(parameters) else f"#{argument}"
                raise CheckFailed(
                    f"{name} changed its input `{argument}` in place; inputs belong to the caller."
                    " Work on a copy (x = x.clone()) or use out-of-place operations (x = x * 2,"
                    " not x *= 2)"
                ) from None
            raise CheckFailed(
                f"{name} changed its input `{argument}` in place; work on a copy"
            ) from None

    watched.__name__ = watched.__qualname__ = str(info.get("name", attribute))
    watched.__doc__ = str(info.get("doc", ""))
    watched.__signature__ = inspect.Signature(
        [
            inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for p in parameters
            if p.isidentifier()
        ]
    )
    return watched


@contextlib.contextmanager
def not_implemented_guard(where: str) -> Iterator[None]:
    """Turns ``NotImplementedError`` (an untouched stub) into one 'not implemented yet' line."""
    __tracebackhide__ = True
    try:
        yield
    except NotImplementedError:
        raise ExerciseNotImplemented(where) from None
    except SystemExit as error:
        raise CheckFailed(
            f"{where} called sys.exit({error.code}); return a value instead"
        ) from None


# ----------------------------------------------------------------------------- clear failures


def expect(condition: object, message: str) -> None:
    """Fails the check with ``message`` (a sentence naming the property) unless ``condition``."""
    __tracebackhide__ = True
    if not condition:
        raise CheckFailed(message)


def raises_value_error(call: Callable[[], object], what: str) -> None:
    """Expects ``call()`` to raise ValueError (a clear message), not another error or nothing."""
    __tracebackhide__ = True
    try:
        call()
    except ValueError:
        return
    except Exception as error:  # a crash deep inside torch instead of a clear message
        expect(False, f"{what} should raise ValueError, got {type(error).__name__}: {error}")
    expect(False, f"{what} should raise ValueError, it returned")


def _describe(value: Any) -> str:
    import torch

    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def expect_tensor(
    value: Any,
    what: str,
    *,
    shape: tuple[int, ...] | None = None,
    dtype: Any = None,
    finite: bool = True,
) -> Any:
    """Checks that ``value`` is a tensor of the given shape/dtype without NaN or inf.

    Args:
        value: what the exercise returned.
        what: how to name it in a message, e.g. ``"box_iou(boxes1, boxes2)"``.
        shape: expected shape, or ``None`` to accept any.
        dtype: expected dtype (or tuple of dtypes), or ``None`` to accept any.
        finite: whether NaN and inf are errors.

    Returns:
        ``value``, for chaining.
    """
    __tracebackhide__ = True
    import torch

    if not isinstance(value, torch.Tensor):
        raise CheckFailed(f"{what} should return a torch.Tensor, got {_describe(value)}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise CheckFailed(f"{what} returned shape {tuple(value.shape)}, expected {tuple(shape)}")
    if dtype is not None:
        allowed = dtype if isinstance(dtype, tuple) else (dtype,)
        if value.dtype not in allowed:
            names = " or ".join(str(item) for item in allowed)
            raise CheckFailed(f"{what} returned dtype {value.dtype}, expected {names}")
    if finite and value.is_floating_point() and not torch.isfinite(value).all():
        bad = (~torch.isfinite(value)).nonzero()[0].tolist()
        raise CheckFailed(
            f"{what} returned {value[tuple(bad)].item()} at index {bad}: NaN or inf"
            " (a division by zero? a log of 0?)"
        )
    return value


def expect_close(
    actual: Any, expected: Any, what: str, *, atol: float = 1e-5, rtol: float = 1e-5
) -> None:
    """Checks ``actual`` against the oracle's ``expected`` (tensors or numbers) within tolerance.

    Args:
        actual: what the exercise returned.
        expected: what the oracle says.
        what: the property in words, e.g. ``"IoU of each pair of boxes"``.
        atol: absolute tolerance.
        rtol: relative tolerance.
    """
    __tracebackhide__ = True
    import torch

    if not isinstance(expected, torch.Tensor):
        try:
            actual_number = float(actual)
        except (TypeError, ValueError):
            raise CheckFailed(f"{what}: expected a number, got {_describe(actual)}") from None
        if math.isnan(actual_number) or abs(actual_number - expected) > atol + rtol * abs(expected):
            raise CheckFailed(f"{what}: got {actual_number:.6g}, expected {expected:.6g}")
        return
    expect_tensor(actual, what, shape=tuple(expected.shape), finite=False)
    actual_values = actual.detach().to(torch.float64).cpu()
    expected_values = expected.detach().to(torch.float64).cpu()
    close = torch.isclose(actual_values, expected_values, atol=atol, rtol=rtol, equal_nan=True)
    if not close.all():
        index = tuple((~close).nonzero()[0].tolist())
        count = int((~close).sum())
        raise CheckFailed(
            f"{what}: {count} of {close.numel()} values differ; first at index {list(index)}:"
            f" got {actual_values[index].item():.6g}, expected {expected_values[index].item():.6g}"
        )
