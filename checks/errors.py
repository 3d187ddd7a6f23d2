"""How a check ends other than by passing: the grader's exceptions, in one module below the rest.

Both the harness (``checks.harness``, what checks are written with) and the worker machinery
(``checks.worker``, which runs student code in another process) raise these, so they live here,
importing nothing of the course: neither of the two needs the other to name a failure.
``checks.harness`` (and ``checks.worker``, for the two it exported) re-export them, so every
``from checks.harness import CheckFailed`` of the checks stays as it was.

Three of them derive from ``BaseException`` on purpose: Hypothesis would otherwise try to shrink
(and re-run) the input of a stub, of a hanging exercise or of code that kills its process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar


class ExerciseNotImplemented(BaseException):
    """An exercise still raises ``NotImplementedError``.

    A ``BaseException``, so Hypothesis stops at once instead of shrinking a stub's inputs.
    """

    def __init__(self, where: str) -> None:
        super().__init__(f"not implemented yet: {where}")
        self.where = where


class CheckTimedOut(BaseException):
    """A check ran past its time limit (raised from the SIGALRM handler).

    A ``BaseException``, so Hypothesis does not try to shrink (and re-run) a hanging exercise.
    """


class CheckFailed(AssertionError):
    """A property of the exercise does not hold; the message says which, in words.

    Making one calls ``CheckFailed.on_failure`` (set by ``checks.harness``: it tells the grading
    session's worker), so that shrinking the example does not count against the check's time.
    """

    on_failure: ClassVar[Callable[[], None] | None] = None

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if CheckFailed.on_failure is not None:
            CheckFailed.on_failure()


class GradingProcessEnded(BaseException):
    """The worker exited, crashed or was killed while running student code.

    A ``BaseException``, so Hypothesis does not shrink (and re-run) code that kills its process.
    """


class InPlaceEdit(Exception):
    """The worker saw student code change an input argument in place."""

    def __init__(self, argument: Any) -> None:
        super().__init__(argument)
        self.argument = argument


# the builtin exceptions an error from the worker comes back as (its own class never crosses)
BUILTIN_ERRORS = {
    kind.__name__: kind
    for kind in (
        ArithmeticError,
        AssertionError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
        LookupError,
        MemoryError,
        ModuleNotFoundError,
        NameError,
        NotImplementedError,
        OSError,
        OverflowError,
        RecursionError,
        RuntimeError,
        StopIteration,
        TypeError,
        UnboundLocalError,
        ValueError,
        ZeroDivisionError,
    )
}
