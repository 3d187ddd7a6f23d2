"""Timing an exercise against torchvision in the same check, with the check's own time bounded.

A speed check grades ``"<lesson>.<exercise>.speed"``: its own points, apart from the exercise's
correctness checks (the scoreboard shows it under the exercise). It passes when the student's
op, on an input where a Python loop over boxes, anchors, RoIs or pixels shows, takes at most
``bound`` times torchvision's time on the same input, measured in the same check, alternating
the two so that a busy machine slows both alike (the best of a few runs of each counts).

A slow op fails fast: it first runs once on a small input, and when the time that predicts for
the full input is far over the bound (and over a second) the check stops there; otherwise each
full-size call runs under a time limit of 1.5 x ``bound`` times torchvision's (0.5 s at least), interrupted
(SIGALRM) when it runs past it. A check's own time is a few seconds at most.
A fast but wrong result earns no speed points: the output is compared with torchvision's.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from checks import harness

BOUND = 20.0  # student's time / torchvision's time that still passes
RUNS = 5  # timed runs of each, alternating (the best counts)
FLOOR_SECONDS = 0.002  # below this, a difference in time is overhead, never a loop
EARLY_STOP = 4.0  # stop before the full input when the small run predicts BOUND * this ...
EARLY_STOP_SECONDS = 1.0  # ... and at least this long
LIMIT_SECONDS = 0.5  # a full-size call is stopped after 1.5 x the bound, never before this
#   (a busy machine can pause a process for tens of milliseconds: never fail on that)


class _TooSlow(BaseException):
    """Raised from SIGALRM when one call runs past its limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupts the block with ``_TooSlow`` after ``seconds``; restores any outer timer
    (the check's own time limit) afterwards."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _TooSlow

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:  # the outer timer goes on, less the time spent here
            left = max(previous_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, previous_interval)


def _seconds(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


@dataclass
class Speed:
    """One op to time: how to build inputs of a given size and how to call both sides."""

    exercise: str  # "metrics.box_iou"
    inputs: Callable[[int], tuple]  # size -> arguments (the same for both sides)
    size: int  # the timed input's size
    small: int  # the first, small run's size
    exponent: float  # the op's cost grows as size ** exponent (2 for N x N pairs)
    reference: Callable[..., Any]  # torchvision's op, same arguments
    same: Callable[[Any, Any], bool]  # is the student's result torchvision's?
    loop: str  # the likely Python loop and what to do instead, in words
    what: str  # the timed input in words, e.g. "1000 x 1000 boxes"
    bound: float = BOUND


def expect_fast(speed: Speed) -> None:
    """Fails the check unless the exercise is within ``speed.bound`` of torchvision's time."""
    __tracebackhide__ = True
    import torch

    lesson, name = harness.split_name(speed.exercise)
    module = harness.SESSION.module(lesson)
    op = getattr(module, name, None)
    if op is None:
        raise harness.CheckFailed(f"{harness.SESSION.display_path(lesson)} has no `{name}`")
    where = f"{harness.SESSION.display_path(lesson)}::{name}"
    bound = speed.bound
    with torch.no_grad():
        small = speed.inputs(speed.small)
        with harness.not_implemented_guard(where):
            op(*small)  # warm-up, and "not implemented yet" for an untouched stub
            small_seconds, _ = _seconds(lambda: op(*small))
        full = speed.inputs(speed.size)
        speed.reference(*full)  # warm-up
        reference_seconds, expected = min(
            (_seconds(lambda: speed.reference(*full)) for _ in range(RUNS)), key=lambda t: t[0]
        )
        allowed = max(bound * reference_seconds, FLOOR_SECONDS)
        predicted = small_seconds * (speed.size / speed.small) ** speed.exponent
        # overheads make a small input look slow even for whole-tensor code: stop early only
        # when the prediction is far over the bound *and* long in itself (Python loops are)
        if predicted > max(EARLY_STOP * allowed, EARLY_STOP_SECONDS):
            _too_slow(
                speed, predicted, reference_seconds, "predicted from one call on a smaller input"
            )
        ours = []
        for _ in range(RUNS):
            stopped = False
            try:
                with (
                    time_limit(max(1.5 * allowed, LIMIT_SECONDS)),
                    harness.not_implemented_guard(where),
                ):
                    seconds, result = _seconds(lambda: op(*full))
            except _TooSlow:
                stopped = True
            if stopped:  # outside the except: no "during handling of _TooSlow" in the report
                limit = max(1.5 * allowed, LIMIT_SECONDS)
                _too_slow(speed, limit, reference_seconds, "stopped", stopped=True)
            ours.append(seconds)
            if not speed.same(result, expected):
                raise harness.CheckFailed(
                    f"{speed.exercise} gives a different result from torchvision's on the speed"
                    f" input ({speed.what}); speed is graded once the result is right: make the"
                    f" correctness checks of {speed.exercise} pass first"
                )
            reference_seconds = min(reference_seconds, _seconds(lambda: speed.reference(*full))[0])
    best = min(ours)
    if best > max(bound * reference_seconds, FLOOR_SECONDS):
        _too_slow(speed, best, reference_seconds, "measured")


def _too_slow(
    speed: Speed, seconds: float, reference: float, how: str, *, stopped: bool = False
) -> None:
    __tracebackhide__ = True
    ratio = seconds / reference if reference > 0 else float("inf")
    if stopped:
        ours = f"over {seconds * 1000:.0f} ms (stopped there), over {ratio:.0f}x"
    elif seconds >= 10:
        ours = f"about {seconds:.0f} s ({how}), {ratio:.0f}x"
    else:
        ours = f"{seconds * 1000:.1f} ms ({how}), {ratio:.0f}x"
    raise harness.CheckFailed(
        f"{speed.exercise} is correct but too slow on {speed.what}: {ours} torchvision's"
        f" {reference * 1000:.2f} ms on the same input (the bound is {speed.bound:g}x)."
        f" Likely {speed.loop}"
    )


def same_tensor(atol: float = 1e-4) -> Callable[[Any, Any], bool]:
    import torch

    def same(actual: Any, expected: Any) -> bool:
        return (
            isinstance(actual, torch.Tensor)
            and actual.shape == expected.shape
            and bool(torch.allclose(actual.double(), expected.double(), atol=atol, rtol=1e-4))
        )

    return same
