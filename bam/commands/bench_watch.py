"""``bam bench watch``: how long watch mode takes from saving a lesson file to its verdict.

It runs ``bam check --watch`` (the warm checks process included) on a scratch copy of the
lessons — never the student's own files — saves one exercise of it ``--saves`` times (an edit
inside that exercise's function, as a student makes), and measures for each save the time until
"checking ..." shows and until the verdict shows. The copy holds the reference solutions where
the course has them (so the verdict is a real pass), else the stubs. It is a benchmark, not a
test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bam.checking.watch import Checker

DESCRIPTION = "measure watch mode's save-to-verdict time over a few saves (median and max)"

PACKAGE = "bam_watch_bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exercise", default="metrics.mask_iou", help="the exercise to save (default: %(default)s)"
    )
    parser.add_argument("--saves", type=int, default=10, help="how many saves (default 10)")
    parser.add_argument(
        "--interval", type=float, default=0.25, help="watch mode's poll interval (default 0.25 s)"
    )
    parser.add_argument("--course", type=Path, default=None, help="the course folder")


class Screens:
    """A text stream that remembers when each watch-mode screen arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            self.events.append((time.perf_counter(), text))
            self.changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    def wait_for(self, pattern: str, after: float, timeout: float) -> float | None:
        """When a screen matching ``pattern`` arrived after ``after`` (None: not in time)."""
        deadline = time.perf_counter() + timeout
        with self.changed:
            while True:
                for moment, text in self.events:
                    if moment >= after and re.search(pattern, text):
                        return moment
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.changed.wait(left)


def _edit_inside(text: str, function: str, count: int) -> str:
    """``text`` with a comment line changed inside ``def function``: a save of that exercise."""
    start = text.index(f"def {function}(")
    body = text.index('"""', text.index('"""', start) + 3) + 3  # after its docstring
    line = f"\n    # bam bench watch: save {count}"
    previous = re.compile(r"\n    # bam bench watch: save \d+")
    head, tail = text[:body], text[body:]
    tail = previous.sub("", tail, count=1)
    return head + line + tail


def _start_watching(course: Path, copy: Path, interval: float) -> tuple[Checker, Screens]:
    """Watch mode on ``copy`` (the scratch package) in a daemon thread, its screens recorded.

    Returns the checker (its warm runner to stop at the end) and the recorded screens.
    """
    from bam.checking.runner import check_environment
    from bam.checking.warm import WarmRunner
    from bam.checking.watch import Checker, watch

    scratch = str(copy.parent)
    environment = check_environment(course)
    environment["PYTHONPATH"] = scratch + ":" + environment["PYTHONPATH"]
    environment["BAM_STATE_DIR"] = str(copy.parent / "state")
    checker = Checker(course, package=PACKAGE)
    checker.runner = WarmRunner(course, environment)
    checker.package_folder = lambda: copy  # type: ignore[method-assign]
    screens = Screens()
    thread = threading.Thread(
        target=watch,
        args=(checker,),
        kwargs={
            "interval": interval,
            "max_events": None,  # a daemon thread: it ends with the command
            "out": screens,
            "clear": False,
        },
        daemon=True,
    )
    os.environ["BAM_STATE_DIR"] = environment["BAM_STATE_DIR"]
    thread.start()
    return checker, screens


def _time_saves(
    target: Path, function: str, args: argparse.Namespace, screens: Screens
) -> tuple[list[float], list[float]] | None:
    """Saves ``target`` ``args.saves`` times (an edit inside ``function``), each as editors do.

    Returns the seconds from each save to "checking …" and to the verdict; None when a save got
    no verdict.
    """
    announce, verdict = [], []
    text = target.read_text("utf-8")
    for count in range(1, args.saves + 1):
        time.sleep(max(args.interval * 2, 0.5))  # a pause between saves, as a person makes
        text = _edit_inside(text, function, count)
        scratch_file = target.with_suffix(".py.saving")
        scratch_file.write_text(text, "utf-8")
        saved = time.perf_counter()
        os.replace(scratch_file, target)  # as editors save: the file is never half-written
        shown = screens.wait_for(rf"checking {re.escape(args.exercise)}…", saved, 120)
        done = screens.wait_for(rf"checked {re.escape(args.exercise)} in", saved, 300)
        if shown is None or done is None:
            print(f"bam bench watch: save {count} got no verdict", file=sys.stderr)
            return None
        announce.append(shown - saved)
        verdict.append(done - saved)
        print(
            f"save {count:>2}: 'checking…' after {shown - saved:.2f} s, verdict after {done - saved:.2f} s"
        )
    return announce, verdict


def run(args: argparse.Namespace) -> int:
    from bam.checking.runner import CourseNotFound, find_course

    try:
        course = find_course(args.course)
    except CourseNotFound as error:
        print(f"bam bench watch: {error}", file=sys.stderr)
        return 2
    lesson, _, function = args.exercise.partition(".")
    source = course / ("solutions" if (course / "solutions").is_dir() else "lessons")
    with tempfile.TemporaryDirectory(prefix="bam-bench-watch-") as scratch:
        copy = Path(scratch) / PACKAGE
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        target = copy / f"{lesson}.py"
        if not target.is_file() or f"def {function}(" not in target.read_text("utf-8"):
            print(f"bam bench watch: no {function} in {source.name}/{lesson}.py", file=sys.stderr)
            return 2
        saved_environment = dict(os.environ)
        started = time.perf_counter()
        checker, screens = _start_watching(course, copy, args.interval)
        ready = screens.wait_for(r"checked \S+ in", started, timeout=300)
        if ready is None:
            print("bam bench watch: watch mode never showed its first verdict", file=sys.stderr)
            return 1
        print(f"start-up (warm process + the first lesson's checks): {ready - started:.1f} s")
        timed = _time_saves(target, function, args, screens)
        if timed is None:
            return 1
        announce, verdict = timed
        checker.runner.stop()  # the watch thread (a daemon) ends with the command
        os.environ.clear()
        os.environ.update(saved_environment)
        last = screens.events[-1][1] if screens.events else ""
        outcome = "pass" if f"✓ {args.exercise}" in last else "not done"
        print(
            f"{args.exercise} ({outcome}), {args.saves} saves: save-to-verdict median"
            f" {statistics.median(verdict):.2f} s, max {max(verdict):.2f} s;"
            f" 'checking…' shown after median {statistics.median(announce):.2f} s,"
            f" max {max(announce):.2f} s (poll interval {args.interval:g} s)"
        )
    return 0
