"""The Gradescope autograder: building its zip, and the helpers its ``run_autograder`` calls.

The zip (``bam release student OUT_DIR --gradescope autograder.zip``) holds, at its root,
``setup.sh`` and ``run_autograder`` (from ``grading/gradescope/``) and ``course/``: a student
release of the course (no ``solutions/``, no docs). Gradescope then

1. runs ``setup.sh`` once, to build the image: a virtual environment with CPU PyTorch and the
   course's dependencies;
2. for each submission, runs ``run_autograder``, which calls::

       python -m bam.release.gradescope collect /autograder/submission course/lessons
       python -m pytest checks --gradescope /autograder/results/results.json
       python -m bam.release.gradescope ensure-results /autograder/results/results.json

``collect`` copies the student's lesson modules over the stubs (found wherever they are in the
submission: a ``lessons/`` folder, the files uploaded one by one, or a whole repository), and
``ensure-results`` writes a valid results file with a clear message if grading died before
pytest wrote one, so a student never sees a bare "autograder failed".

Run as root (as Gradescope does), ``run_autograder`` also makes an unprivileged user
(``prepare-user``) and grades with ``BAM_WORKER_USER`` set to it: the grader stays root, and the
worker process that runs the student's code (``checks/worker/``) becomes that user, who can
write neither ``results/``, the course copy, the checks nor the grader's files. When grading ends,
every process of that user is killed (``end-user-processes``) before anything else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bam.release.student import make_student_release

RESULTS_OUTPUT_LIMIT = 4000  # characters of the overall output shown to the student


def lesson_names(lessons_dir: Path) -> list[str]:
    """The lesson modules of a course (``lessons/*.py`` except ``__init__.py``)."""
    return sorted(path.stem for path in lessons_dir.glob("*.py") if path.stem != "__init__")


def collect_submission(
    submission: Path, lessons_dir: Path, notes: list[str] | None = None
) -> dict[str, Path]:
    """Copies the submitted lesson modules over the course's stubs.

    A file counts when its name is a lesson's (``metrics.py``); one inside a ``lessons/`` folder
    wins over one elsewhere, and a shallower one over a deeper one. ``__init__.py`` (given code)
    is never taken from a submission. Lessons not submitted keep their stub. A lesson handed in
    as a notebook (``03-metrics.ipynb``) is written into its module, cell by cell, as text
    (``bam.notebooks.submission``: the ``.py`` file wins where both have an exercise done).

    Args:
        submission: the submission folder (``/autograder/submission``).
        lessons_dir: the course's ``lessons/`` folder to copy into.
        notes: receives lines saying what was taken from notebooks.

    Returns:
        Lesson name -> the submitted file graded (the ``.py`` file where there is one).
    """
    from bam.notebooks.submission import apply_notebooks

    wanted = set(lesson_names(lessons_dir))
    stubs = {name: (lessons_dir / f"{name}.py").read_text("utf-8") for name in wanted}
    chosen: dict[str, Path] = {}
    for path in sorted(submission.rglob("*.py")):
        relative = path.relative_to(submission)
        if path.stem not in wanted or any(part.startswith(".") for part in relative.parts):
            continue
        rank = (path.parent.name != "lessons", len(relative.parts))
        best = chosen.get(path.stem)
        if best is None or rank < (
            best.parent.name != "lessons",
            len(best.relative_to(submission).parts),
        ):
            chosen[path.stem] = path
    for lesson, path in chosen.items():
        shutil.copyfile(path, lessons_dir / f"{lesson}.py")
    from_notebooks, lines = apply_notebooks(submission, lessons_dir, stubs, set(chosen))
    if notes is not None:
        notes += lines
    return {**from_notebooks, **chosen}


def ensure_results(path: Path, log_path: Path | None = None) -> bool:
    """Writes a valid Gradescope results file if ``path`` is missing or unreadable.

    Args:
        path: ``/autograder/results/results.json``.
        log_path: the grading run's output; its end is shown in the message.

    Returns:
        True if a fallback file was written.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "tests" in data:
            return False
    except (OSError, json.JSONDecodeError):
        pass
    tail = ""
    if log_path is not None and log_path.exists():
        tail = log_path.read_bytes()[-RESULTS_OUTPUT_LIMIT // 2 :].decode("utf-8", "replace")
    message = (
        "The checks did not finish, so no exercise could be graded. This happens when a lesson"
        " module crashes Python itself (os._exit, a segfault) or the run exceeds Gradescope's time"
        " limit. Run `pytest checks` on your own machine to see what happens."
    )
    payload = {
        "score": 0,
        "output": (message + ("\n\nEnd of the grading log:\n" + tail if tail else ""))[
            :RESULTS_OUTPUT_LIMIT
        ],
        "output_format": "text",
        "tests": [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return True


def prepare_user(name: str) -> int:
    """Creates the unprivileged system user that runs student code (if missing); returns its uid."""
    import pwd

    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    return pwd.getpwnam(name).pw_uid


def end_user_processes(name: str) -> None:
    """Kills every process of user ``name`` (what a submission may have left running)."""
    import pwd

    from checks.worker import kill_user_processes

    entry = pwd.getpwnam(name)
    if entry.pw_uid == 0 or entry.pw_uid == os.getuid():
        raise SystemExit(f"end-user-processes: refusing to kill the processes of {name}")
    kill_user_processes(entry.pw_uid, entry.pw_gid)


def build_autograder_zip(course: Path, out_zip: Path) -> Path:
    """Builds Gradescope's autograder zip from the instructors' course folder.

    Raises:
        bam.release.stubs.ReleaseError: as ``make_student_release`` (e.g. a check needs solutions).
        FileNotFoundError: if ``grading/gradescope/`` lacks ``setup.sh`` or ``run_autograder``.
    """
    scripts = course / "grading" / "gradescope"
    for name in ("setup.sh", "run_autograder"):
        if not (scripts / name).is_file():
            raise FileNotFoundError(f"{scripts / name} is missing")
    out_zip = out_zip.resolve()
    with tempfile.TemporaryDirectory(prefix="bam-gradescope-") as scratch:
        release = Path(scratch) / "course"
        make_student_release(course, release, docs=False)  # students read the docs elsewhere
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in ("setup.sh", "run_autograder"):
                info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                info.external_attr = 0o755 << 16  # executable, as Gradescope runs them
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, (scripts / name).read_bytes())
            for path in sorted(release.rglob("*")):
                if path.is_file():
                    archive.write(path, Path("course") / path.relative_to(release))
    return out_zip


def main(argv: list[str] | None = None) -> int:
    """``python -m bam.release.gradescope collect|ensure-results ...`` (called by ``run_autograder``)."""
    parser = argparse.ArgumentParser(prog="python -m bam.release.gradescope", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    collect = commands.add_parser("collect", help="copy submitted lesson modules over the stubs")
    collect.add_argument("submission", type=Path)
    collect.add_argument("lessons_dir", type=Path)
    ensure = commands.add_parser("ensure-results", help="write a fallback results.json if needed")
    ensure.add_argument("results", type=Path)
    ensure.add_argument("--log", type=Path, default=None)
    user = commands.add_parser("prepare-user", help="create the user that runs student code")
    user.add_argument("name")
    end = commands.add_parser("end-user-processes", help="kill every process of that user")
    end.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "prepare-user":
        print(f"student code runs as {args.name} (uid {prepare_user(args.name)})")
        return 0
    if args.command == "end-user-processes":
        end_user_processes(args.name)
        return 0
    if args.command == "collect":
        notes: list[str] = []
        chosen = collect_submission(args.submission, args.lessons_dir, notes)
        for lesson, path in sorted(chosen.items()):
            print(f"graded {lesson}: {path.relative_to(args.submission)}")
        for note in notes:
            print(f"  {note}")
        missing = sorted(set(lesson_names(args.lessons_dir)) - set(chosen))
        if missing:
            print(f"not submitted (graded as the untouched stubs): {', '.join(missing)}")
        return 0
    wrote = ensure_results(args.results, args.log)
    print("wrote a fallback results.json" if wrote else "results.json is in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
