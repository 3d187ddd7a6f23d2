"""Running a lesson's checks: the course on disk, the pytest child process and its verdicts.

``run_checks(course, targets)`` runs ``python -m pytest checks ... -p bam.checking.check_stream``
in a child process (a student module that loops forever or calls ``sys.exit()`` cannot take
``bam`` down) and reads the verdicts it streamed into a ``Run``; ``find_course`` and the
``exercise_of``-style helpers say what the course folder holds.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bam import course as facts

OUTPUT_TAIL = 3000  # characters of the child's own output shown when the run breaks


class CourseNotFound(RuntimeError):
    """No folder with ``checks/`` and ``lessons/`` was found."""


def find_course(start: Path | None = None) -> Path:
    """The course folder: the first of ``start`` (or the cwd) and its parents with checks/ and
    lessons/, else the folder this ``bam`` was installed from."""
    here = (start or Path.cwd()).resolve()
    installed = Path(__file__).resolve().parents[2]
    for folder in [here, *here.parents, installed]:
        if (folder / "checks" / "conftest.py").is_file() and (folder / "lessons").is_dir():
            return folder
    raise CourseNotFound(
        f"no course folder (with checks/ and lessons/) in {here} or above; run bam from the course"
    )


def course_order(course: Path) -> list[str]:
    """``COURSE_ORDER`` from ``lessons/__init__.py`` (``bam.course.lessons``: never imported)."""
    try:
        return list(facts.lessons(course))
    except facts.CourseError as error:
        raise CourseNotFound(str(error)) from None


SPEED = ".speed"  # a speed check grades "lesson.exercise.speed": its own points, apart
WRONG_RESULT = "speed is graded once the result is right"  # checks/speed/timing.py says so
NO_FREE_POINTS = "[no free points]"  # checks/scoring.py: holds, but waits for a real check


def is_speed(name: str) -> bool:
    return name.endswith(SPEED)


def exercise_of(name: str) -> str:
    """``metrics.box_iou.speed`` -> ``metrics.box_iou`` (other names unchanged)."""
    return name.removesuffix(SPEED)


def exercises_of(course: Path, lesson: str) -> list[str]:
    """``__all__`` of ``lessons/<lesson>.py`` in definition order (``bam.course.exercises``:
    read with ``ast``, never imported).

    When the student's file does not parse (a SyntaxError half-way through an edit), the
    exercises graded by ``checks/test_<lesson>.py`` stand in, so the course's total stays put.
    """
    if not (course / "lessons" / f"{lesson}.py").is_file():
        return []
    try:
        names = facts.exercises(lesson, course, file_order=True)
    except facts.CourseError:
        return checked_exercises(course, lesson)
    return [f"{lesson}.{name}" for name in names]


def check_files(course: Path, lesson: str) -> list[Path]:
    """The check files of a lesson: ``checks/test_<lesson>.py`` and its speed checks."""
    candidates = [
        course / "checks" / f"test_{lesson}.py",
        course / "checks" / "speed" / f"test_{lesson}.py",
    ]
    return [path for path in candidates if path.is_file()]


def checked_exercises(course: Path, lesson: str) -> list[str]:
    """The exercises that ``checks/test_<lesson>.py`` grades, in file order (no speed checks)."""
    names: list[str] = []
    for path in check_files(course, lesson):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            for decorator in getattr(node, "decorator_list", []):
                if (
                    isinstance(decorator, ast.Call)
                    and getattr(decorator.func, "id", None) == "exercise"
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    name = str(decorator.args[0].value)
                    if not is_speed(name) and name not in names:
                        names.append(name)
    return names


def state_dir(course: Path | None = None) -> Path:
    """Where ``bam`` keeps a student's state: ``$BAM_STATE_DIR``, else ``.bam/`` in the course
    folder (never in whatever directory ``bam`` ran from)."""
    if os.environ.get("BAM_STATE_DIR"):
        return Path(os.environ["BAM_STATE_DIR"])
    return (course or Path.cwd()) / ".bam"


@dataclass
class Verdict:
    """One check's verdict, as streamed by ``bam.checking.check_stream``."""

    exercise: str
    points: int
    description: str
    outcome: str  # passed | failed | not implemented
    message: str
    seconds: float | None = None  # how long the check ran (None where the stream did not say)


@dataclass
class Run:
    """The verdicts of one run of the checks, and how the child process ended."""

    verdicts: list[Verdict] = field(default_factory=list)
    exit_code: int = 0
    output_tail: str = ""
    seconds: float = 0.0

    def by_exercise(self) -> dict[str, list[Verdict]]:
        exercises: dict[str, list[Verdict]] = {}
        for verdict in self.verdicts:
            exercises.setdefault(verdict.exercise, []).append(verdict)
        return exercises

    @property
    def broke(self) -> bool:
        """True when pytest did not finish normally (exit codes 0 and 1 are verdicts)."""
        return self.exit_code not in (0, 1)


def pytest_command(
    course: Path,
    targets: list[str],
    results_path: Path,
    *,
    solutions: bool = False,
    package: str | None = None,
    check_timeout: float | None = None,
) -> list[str]:
    """The ``python -m pytest`` command line that grades ``targets`` (lessons or exercises)."""
    lessons = sorted({target.split(".", 1)[0] for target in targets})
    files = ["checks"]
    if targets:
        files = [
            path.relative_to(course).as_posix()
            for lesson in lessons
            for path in check_files(course, lesson)
        ] or [f"checks/test_{lesson}.py" for lesson in lessons]
    command = [sys.executable, "-m", "pytest", *files, "-q", "--tb=no", "--no-header"]
    command += ["-p", "no:cacheprovider", "-p", "bam.checking.check_stream"]
    # its clean-up runs gc.collect five times over torch's heap: 1.5-4 s of every run, for a
    # warning about exceptions raised in __del__ (Python still prints those itself)
    command += ["-p", "no:unraisableexception"]
    command += ["--bam-results", str(results_path)]
    for target in targets:  # an exercise's speed check comes with it
        command.append(f"--exercise={target}")
        if "." in target and not is_speed(target):
            command.append(f"--exercise={target}{SPEED}")
    if package:
        command += ["--package", package]
    elif solutions:
        command.append("--solutions")
    if check_timeout:
        command += ["--check-timeout", str(check_timeout)]
    return command


def check_environment(course: Path) -> dict[str, str]:
    """The environment of the process that runs the checks: the course first on the path."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(_python_path(course)))


def run_checks(course: Path, targets: list[str], runner: Any = None, **options: object) -> Run:
    """Runs the checks of ``targets`` in a child process and collects the verdicts.

    ``runner`` (a ``bam.checking.warm.WarmRunner``) runs them in a child forked from a warm process that
    has torch and pytest imported already; without it, a fresh ``python -m pytest``.
    """
    with tempfile.TemporaryDirectory(prefix="bam-check-") as scratch:
        results_path = Path(scratch) / "results.jsonl"
        log_path = Path(scratch) / "output.txt"
        command = pytest_command(course, targets, results_path, **options)  # type: ignore[arg-type]
        started = time.monotonic()
        if runner is not None:
            exit_code = runner.run(command[3:], log_path)  # the arguments after `-m pytest`
        else:
            with log_path.open("wb") as log:
                exit_code = subprocess.call(
                    command,
                    cwd=course,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=check_environment(course),
                )
        if not log_path.exists():
            log_path.write_bytes(b"")
        verdicts = read_verdicts(results_path)
        output = log_path.read_bytes()[-OUTPUT_TAIL:].decode("utf-8", errors="replace")
    return Run(verdicts, exit_code, output, time.monotonic() - started)


def read_verdicts(path: Path) -> list[Verdict]:
    """The verdicts that ``bam.checking.check_stream`` wrote to ``path``, one per check.

    A check's line streamed as it finished is replaced by its ``"final"`` line from the end of
    the run, which applies the scoring rules (``checks/scoring.py``): an exercise found calling
    the library it builds scores 0 in every check, those that ran before the call included, and
    a property that a constant output also has scores only with a check that does the job. A
    run that died before its end keeps the streamed lines.
    """
    if not path.exists():
        return []
    by_check: dict[str, Verdict] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            record = json.loads(line)
            verdict = Verdict(
                record["exercise"],
                int(record["points"]),
                record["description"],
                record["outcome"],
                record["message"],
                record.get("seconds"),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # the last line of a run killed mid-write
        by_check[str(record.get("nodeid", number))] = verdict  # the final line wins, in place
    return list(by_check.values())


def _python_path(course: Path) -> list[str]:
    existing = os.environ.get("PYTHONPATH", "")
    return [str(course), *(part for part in existing.split(os.pathsep) if part)]
