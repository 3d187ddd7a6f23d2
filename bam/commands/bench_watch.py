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
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

DESCRIPTION = "measure watch mode's save-to-verdict time over a few saves (median and max)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exercise", default="metrics.mask_iou", help="the exercise to save (default: %(default)s)"
    )
    parser.add_argument("--saves", type=int, default=10, help="how many saves (default 10)")
    parser.add_argument(
        "--interval", type=float, default=0.25, help="watch mode's poll interval (default 0.25 s)"
    )
    parser.add_argument("--course", type=Path, default=None, help="the course folder")


def run(args: argparse.Namespace) -> int:
    from bam.checking.runner import CourseNotFound, find_course
    from bam.checking.watch_bench import PACKAGE, start_watching, time_saves

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
        checker, screens = start_watching(course, copy, args.interval)
        ready = screens.wait_for(r"checked \S+ in", started, timeout=300)
        if ready is None:
            print("bam bench watch: watch mode never showed its first verdict", file=sys.stderr)
            return 1
        print(f"start-up (warm process + the first lesson's checks): {ready - started:.1f} s")
        timed = time_saves(target, function, args, screens)
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
