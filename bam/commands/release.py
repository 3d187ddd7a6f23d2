"""``bam release student OUT_DIR``: the course for students, without ``solutions/``.

The copy holds ``lessons/`` (the committed stubs: ``git show HEAD:lessons/...``; a lesson that
is not a pristine stub stops the release, naming the file), ``checks/``, ``bam/``, ``data/``,
the docs with prebuilt figures, its own README (``release/README.md``) and a pyproject whose
bare ``pytest`` grades ``checks/``; not ``solutions/``, ``tests/`` (the known mistakes are built
on the solutions) nor ``grading/``. Its ``bam check`` grades the stubs (every exercise "not
implemented yet"), its pipelines run the student's own code (``--impl lessons``) and its
``mkdocs build --strict`` works without ``solutions/``. See ``bam.release``.

``--github-classroom`` adds the GitHub Classroom workflow (``.github/``) to the copy, making it
the template repository of a Classroom assignment; ``--gradescope ZIP`` also builds Gradescope's
autograder zip (see ``grading/gradescope/`` and the instructors' grading page of the docs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = "copy the course for students (no solutions/); optionally the graders' files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, help="folder to create (must be new or empty)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty OUT_DIR")
    parser.add_argument(
        "--github-classroom",
        action="store_true",
        help="add .github/ with the GitHub Classroom autograding workflow (points per lesson)",
    )
    parser.add_argument(
        "--gradescope",
        type=Path,
        default=None,
        metavar="ZIP",
        help="also write Gradescope's autograder zip (setup.sh, run_autograder, the course)",
    )
    parser.add_argument(
        "--course", type=Path, default=None, help="the instructors' course folder (default: found)"
    )


def run(args: argparse.Namespace) -> int:
    from bam.checking.runner import CourseNotFound, find_course
    from bam.release.stubs import ReleaseError
    from bam.release.student import lesson_points, make_student_release

    try:
        course = find_course(args.course)
        if not (course / "solutions").is_dir():
            print(
                f"bam release: {course} has no solutions/ — it already is a student copy;"
                " release from the instructors' copy of the course",
                file=sys.stderr,
            )
            return 2
        make_student_release(
            course, args.out_dir, overwrite=args.force, github_classroom=args.github_classroom
        )
        print(f"student copy of the course: {args.out_dir} (no solutions/)")
        if args.github_classroom:
            total = sum(points for _, points in lesson_points(course))
            print(
                f"  with .github/ for GitHub Classroom: one step per lesson, each check worth its"
                f" own points ({total} in all)"
            )
        if args.gradescope is not None:
            from bam.release.gradescope import build_autograder_zip

            zip_path = build_autograder_zip(course, args.gradescope)
            print(f"Gradescope autograder: {zip_path}")
    except (CourseNotFound, ReleaseError, FileNotFoundError) as error:
        print(f"bam release: {error}", file=sys.stderr)
        return 2
    return 0
