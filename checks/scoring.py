"""Which passing checks score: the scoring rules, applied in one place (``final``).

A check passes or fails on its own; what it is worth depends on the rest of its exercise:

* **No free points.** Some properties hold for an output that says nothing: a matrix of zeros
  is symmetric and lies in [0, 1], a constant loss has a zero gradient, an empty input gives an
  empty output of the right shape whatever the code does. Such a check is marked
  ``@holds_for_constants``: it scores only when a check of the same exercise that a constant
  cannot pass (one that shows the exercise does its job) passes too. A lesson file whose
  exercises return zeros, constants or their inputs unchanged therefore scores 0
  (``tests/test_null_submissions.py`` proves it for every lesson).
* **From scratch** (``checks/from_scratch.py``): an exercise that calls the library it builds
  scores 0, every check of it, including those that ran before the call was first seen, and
  its speed check (timing the library against itself says nothing of the student's code).

``final`` is called by ``checks/conftest.py`` for the scoreboard and Gradescope's results.json
and, through ``bam.checking.check_stream``, for ``bam check``'s scoreboard and progress store, so the
three always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])

MARKER = "holds_for_constants"
MARKER_HELP = (
    f"{MARKER}: a property that an output saying nothing (zeros, a constant, the input) also"
    " has; the check scores only with a passing check of its exercise that is not marked so"
)

HOLDS_FOR_CONSTANTS = (
    "[no free points] this property holds, but it holds for an output that says nothing"
    " (zeros, a constant, the input unchanged) too: it scores once a check that {exercise}"
    " does its job passes."
)
"""The message of a passing check that scores 0 by the no-free-points rule."""

RULE = (
    "No free points: a check of a property that an output saying nothing also has (symmetry,"
    " bounds, shapes, empty inputs) scores only once a check that its exercise does its job passes."
)
"""The rule in one sentence, under a scoreboard where it zeroed a check."""


def zeroed_by_the_rule(results: Iterable[Scored]) -> bool:
    return any(
        result.message == HOLDS_FOR_CONSTANTS.format(exercise=result.exercise) for result in results
    )


SPEED = ".speed"


def exercise_of(name: str) -> str:
    """The exercise a check grades: ``rpn.nms.speed`` (its speed check) -> ``rpn.nms``."""
    return name.removesuffix(SPEED)


def holds_for_constants(check: F) -> F:
    """Marks a check whose property a constant output satisfies (see the module docstring)."""
    return pytest.mark.holds_for_constants(check)


def is_marked(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None


class Scored(Protocol):
    """What the rules need of one check's verdict (``checks.conftest.Result``)."""

    exercise: str
    outcome: str
    message: str
    holds_for_constants: bool


def final(results: Iterable[Scored], forbidden: dict[str, str]) -> None:
    """Applies the scoring rules to the verdicts of a run, in place (running it twice is safe).

    Args:
        results: every check's verdict of the run.
        forbidden: exercise -> from-scratch message, for the exercises that called a library.
    """
    results = list(results)
    job_done = {
        result.exercise
        for result in results
        if result.outcome == "passed" and not result.holds_for_constants
    }
    for result in results:
        exercise = exercise_of(result.exercise)
        if exercise in forbidden:  # every check of it scores 0, its speed check too
            result.outcome, result.message = "failed", forbidden[exercise]
        elif (
            result.holds_for_constants
            and result.outcome == "passed"
            and result.exercise not in job_done
        ):
            result.outcome = "failed"
            result.message = HOLDS_FOR_CONSTANTS.format(exercise=result.exercise)
