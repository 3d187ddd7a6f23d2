"""``bam hint EXERCISE``: one more hint per call, from a nudge to nearly the answer.

The hints are the ones the docs show, from ``bam/hints/<lesson>.toml`` (one table per exercise,
``hints = [...]`` from vague to concrete). How many hints of each exercise a student has seen is
remembered in ``.bam/hints.json`` of the course folder (the folder with ``lessons/`` and
``checks/`` that holds the current directory; or ``$BAM_STATE_DIR``), so each call shows the
next one. Outside a course folder it refuses rather than leave a ``.bam/`` wherever it ran::

    bam hint metrics.box_iou          # hint 1, then 2, then 3 on the next calls
    bam hint metrics.box_iou --all    # every hint at once
    bam hint metrics.box_iou --reset  # start over (without EXERCISE: forget every exercise)
    bam hint                          # list the exercises and the hints seen so far

This command imports neither torch nor any lesson: it answers at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = "show the next hint for an exercise (e.g. bam hint metrics.box_iou)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "exercise", nargs="?", help="lesson.name (e.g. rpn.nms) or a unique exercise name"
    )
    parser.add_argument("--all", action="store_true", help="show every hint of the exercise")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="forget the hints seen for EXERCISE (for every exercise when none is given)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help="the file remembering hints seen (default: .bam/hints.json, or $BAM_STATE_DIR)",
    )


def run(args: argparse.Namespace) -> int:
    from bam.hints.reader import (
        HintError,
        default_state_path,
        format_hints,
        load_hints,
        load_state,
        overview,
        resolve,
        save_state,
    )

    try:
        state_path = args.state or default_state_path()
        hints = load_hints()
        seen = load_state(state_path)
        if args.exercise is None:
            if args.reset:
                save_state(state_path, {})
                print("Forgot every hint seen; the next `bam hint` starts at hint 1 again.")
            else:
                print(overview(hints, seen))
            return 0
        exercise = resolve(args.exercise, hints)
    except HintError as error:
        print(f"bam hint: {error}", file=sys.stderr)
        return 2
    levels = hints[exercise]
    if args.reset:
        seen.pop(exercise, None)
        save_state(state_path, seen)
        print(f"Forgot the hints seen for {exercise}; the next `bam hint` shows hint 1.")
        return 0
    already = min(seen.get(exercise, 0), len(levels))
    shown = len(levels) if args.all else min(already + 1, len(levels))
    seen[exercise] = max(already, shown)
    save_state(state_path, seen)
    print(format_hints(exercise, levels, shown, new=already + 1))
    return 0
