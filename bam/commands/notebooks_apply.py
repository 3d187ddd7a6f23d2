"""``bam notebooks apply``: the exercises done in notebooks, written into ``lessons/``.

For a repository graded from its ``lessons/`` (GitHub Classroom's workflow runs this before its
graded steps): each lesson notebook found in the course (``notebooks/03-metrics.ipynb``,
``lessons/metrics.ipynb``...) fills in the exercises its lesson module still has as stubs; an
exercise done in the ``.py`` file is kept (``bam.notebooks.submission``). Nothing is run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = "write the exercises done in notebooks into lessons/ (what a grader grades)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", type=Path, default=None, help="default: found from the cwd")


def run(args: argparse.Namespace) -> int:
    from bam import course as facts
    from bam.checking.runner import CourseNotFound, find_course
    from bam.notebooks.submission import apply_notebook, find_notebooks

    try:
        course = find_course(args.course)
    except CourseNotFound as error:
        print(f"bam notebooks apply: {error}", file=sys.stderr)
        return 2
    lessons = set(facts.lessons(course))
    found = {
        lesson: path
        for folder in ("lessons", "notebooks")
        for lesson, path in find_notebooks(course / folder, lessons).items()
    }
    for lesson, notebook in sorted(found.items()):
        module = course / "lessons" / f"{lesson}.py"
        exercises = list(facts.exercises(lesson, course))
        _, lines = apply_notebook(notebook, module, None, exercises, module_submitted=True)
        print("\n".join(lines))
    if not found:
        print("no lesson notebook in lessons/ or notebooks/: nothing to apply")
    return 0
