"""``bam notebooks build [OUT_DIR]``: every lesson as a Jupyter notebook (``bam.notebooks.build``).

The notebooks are made from the committed stubs (as ``bam release student`` takes them: an
instructor's filled-in working copy never leaks into them) and the lessons' docs pages, into
``notebooks/`` of the course by default. ``--solutions`` puts the reference code in the
exercise cells instead (what the course's tests execute); ``--check`` only says whether
``OUT_DIR`` holds exactly what would be built.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

DESCRIPTION = "build every lesson's Jupyter notebook from its stub and its docs page"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", nargs="?", type=Path, help="default: notebooks/ of the course")
    parser.add_argument("--solutions", action="store_true", help="exercise cells hold solutions/")
    parser.add_argument("--check", action="store_true", help="exit 1 if OUT_DIR is out of date")
    parser.add_argument("--course", type=Path, default=None, help="default: found from the cwd")


def _same(built: Path, existing: Path) -> list[str]:
    """Names of the notebooks that differ between two folders (missing or extra included)."""
    names = {p.name for p in built.glob("*.ipynb")} | {p.name for p in existing.glob("*.ipynb")}
    return sorted(
        name
        for name in names
        if not (built / name).is_file()
        or not (existing / name).is_file()
        or (built / name).read_bytes() != (existing / name).read_bytes()
    )


def run(args: argparse.Namespace) -> int:
    from bam.checking.runner import CourseNotFound, find_course
    from bam.notebooks.build import build_notebooks
    from bam.release.stubs import ReleaseError, released_lessons

    try:
        course = find_course(args.course)
        stubs = {
            Path(name).stem: text.decode("utf-8")
            for name, text in released_lessons(course, log=lambda line: None).items()
        }
    except (CourseNotFound, ReleaseError) as error:
        print(f"bam notebooks build: {error}", file=sys.stderr)
        return 2
    solutions = course / "solutions" if args.solutions else None
    if solutions is not None and not solutions.is_dir():
        print("bam notebooks build: --solutions needs solutions/ (not in a student copy)")
        return 2
    out = args.out_dir or course / "notebooks"
    if args.check:
        with tempfile.TemporaryDirectory(prefix="bam-notebooks-") as scratch:
            build_notebooks(course, Path(scratch), stubs, solutions)
            stale = _same(Path(scratch), out)
        if stale:
            print(f"out of date in {out}: {', '.join(stale)} (bam notebooks build)")
            return 1
        print(f"{out}: up to date")
        return 0
    written = build_notebooks(course, out, stubs, solutions)
    print(f"wrote {len(written)} notebooks into {out} (open them with: jupyter lab {out})")
    return 0
