"""``bam check [LESSON]``: the scoreboard of one lesson (or all), and ``--watch`` mode.

The checks run in a child process (``python -m pytest checks ...``), so a student module that
loops forever, prints without end or calls ``sys.exit()`` cannot take ``bam`` down; the child
streams its verdicts through ``bam.checking.check_stream``. Results of the student's own ``lessons/`` are
remembered in ``.bam/progress.json`` of the course folder so that the course-wide progress bar
counts lessons checked earlier too. A speed check (``lesson.exercise.speed``, in
``checks/speed/``) is shown under its exercise with its own points; ``bam check metrics.box_iou``
runs it with the exercise.

``bam check --watch`` keeps a warm checks process (``bam.checking.warm``: torch, pytest and Hypothesis
imported once, a fork per run), checks the most recently saved lesson at once, then polls the
lesson files' modification times (no extra dependency): on each save it shows "checking
lesson.exercise…" straight away, runs the checks of the exercises whose source changed (the
whole lesson when it cannot tell) and shows their verdict; when they pass, it then checks the
rest of the lesson and shows the first one not done yet, with the property that failed and
Hypothesis' counterexample. ``bam bench watch`` measures save-to-verdict times.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from bam.checking.runner import (
    CourseNotFound,
    check_environment,
    course_order,
    exercise_of,
    exercises_of,
    find_course,
)
from bam.checking.scoreboard import Style
from bam.checking.watch import Checker, watch

DESCRIPTION = "run the checks of a lesson (or all) and show the scoreboard; --watch re-runs on save"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="LESSON",
        help="a lesson (metrics) or an exercise (metrics.box_iou); default: every lesson",
    )
    parser.add_argument("--solutions", action="store_true", help="grade solutions/ instead")
    parser.add_argument("--package", default=None, help="grade another importable package")
    parser.add_argument(
        "--check-timeout", type=float, default=None, metavar="S", help="time limit of each check"
    )
    parser.add_argument("--watch", action="store_true", help="re-run a lesson's checks on save")
    parser.add_argument(
        "--once", action="store_true", help="with --watch: stop after the first run (at start)"
    )
    parser.add_argument(
        "--interval", type=float, default=0.25, metavar="S", help="with --watch: poll every S s"
    )
    parser.add_argument(
        "--course",
        type=Path,
        default=None,
        help="the course folder (default: found from the current directory)",
    )


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=2, cutoff=0.5)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _target_problem(course: Path, order: list[str], target: str) -> str | None:
    """Why ``target`` names no lesson or exercise of the course (None when it does)."""
    lesson, _, name = target.partition(".")
    if lesson not in order:
        return (
            f"unknown lesson {target!r}{_did_you_mean(lesson, order)}; lessons: {', '.join(order)}"
        )
    if not name:
        return None
    known = exercises_of(course, lesson)
    if exercise_of(target) in known:
        return None
    names = [exercise.split(".", 1)[1] for exercise in known]
    return (
        f"lesson {lesson} has no exercise {name!r}{_did_you_mean(exercise_of(name), names)};"
        f" its exercises: {', '.join(known)}"
    )


def run(args: argparse.Namespace) -> int:
    try:
        course = find_course(args.course)
        order = course_order(course)
    except CourseNotFound as error:
        print(f"bam check: {error}", file=sys.stderr)
        return 2
    problems = [_target_problem(course, order, target) for target in args.targets]
    if args.solutions and not args.package and not (course / "solutions").is_dir():
        problems.append(
            f"this copy of the course has no solutions/ (a student copy: {course});"
            " bam check grades your lessons/ without --solutions"
        )
    for problem in filter(None, problems):
        print(f"bam check: {problem}", file=sys.stderr)
        return 2
    style = Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    checker = Checker(course, args.solutions, args.package, args.check_timeout, style)
    if args.watch:
        from bam.checking.warm import WarmRunner

        checker.runner = WarmRunner(course, check_environment(course))
        return watch(
            checker,
            interval=args.interval,
            max_events=1 if args.once else None,
            clear=sys.stdout.isatty(),
        )
    run_result, screen = checker.check(list(args.targets))
    print(screen)
    if run_result.broke or not run_result.verdicts:
        return 2
    return 0 if all(v.outcome == "passed" for v in run_result.verdicts) else 1
