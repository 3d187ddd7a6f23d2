"""``bam check [LESSON]``: the scoreboard of one lesson (or all), and ``--watch`` mode.

The checks run in a child process (``python -m pytest checks ...``), so a student module that
loops forever, prints without end or calls ``sys.exit()`` cannot take ``bam`` down; the child
streams its verdicts through ``bam.check_stream``. Results of the student's own ``lessons/`` are
remembered in ``.bam/progress.json`` of the course folder so that the course-wide progress bar
counts lessons checked earlier too. A speed check (``lesson.exercise.speed``, in
``checks/speed/``) is shown under its exercise with its own points; ``bam check metrics.box_iou``
runs it with the exercise.

``bam check --watch`` keeps a warm checks process (``bam.warm``: torch, pytest and Hypothesis
imported once, a fork per run), checks the most recently saved lesson at once, then polls the
lesson files' modification times (no extra dependency): on each save it shows "checking
lesson.exercise…" straight away, runs the checks of the exercises whose source changed (the
whole lesson when it cannot tell) and shows their verdict; when they pass, it then checks the
rest of the lesson and shows the first one not done yet, with the property that failed and
Hypothesis' counterexample. ``bam bench watch`` measures save-to-verdict times.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bam import course as facts

DESCRIPTION = "run the checks of a lesson (or all) and show the scoreboard; --watch re-runs on save"

CLEAR_SCREEN = "\033[2J\033[H"
BAR_WIDTH = 30
OUTPUT_TAIL = 3000  # characters of the child's own output shown when the run breaks


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


# ----------------------------------------------------------------------------- the course on disk


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


# ----------------------------------------------------------------------------- running the checks


@dataclass
class Verdict:
    """One check's verdict, as streamed by ``bam.check_stream``."""

    exercise: str
    points: int
    description: str
    outcome: str  # passed | failed | not implemented
    message: str


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
    command += ["-p", "no:cacheprovider", "-p", "bam.check_stream"]
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

    ``runner`` (a ``bam.warm.WarmRunner``) runs them in a child forked from a warm process that
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
    """The verdicts that ``bam.check_stream`` wrote to ``path``, one per check.

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
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # the last line of a run killed mid-write
        by_check[str(record.get("nodeid", number))] = verdict  # the final line wins, in place
    return list(by_check.values())


def _python_path(course: Path) -> list[str]:
    existing = os.environ.get("PYTHONPATH", "")
    return [str(course), *(part for part in existing.split(os.pathsep) if part)]


# ----------------------------------------------------------------------------- progress


def load_progress(path: Path) -> dict[str, str]:
    """``{"metrics.box_iou": "passed" | "failed" | "not implemented"}`` from earlier runs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return {str(key): str(value) for key, value in data.get("exercises", {}).items()}


def save_progress(path: Path, progress: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"exercises": dict(sorted(progress.items())), "updated": time.time()}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def exercise_outcome(verdicts: list[Verdict]) -> str:
    """``passed`` when every check of the exercise passed; ``not implemented`` when all say so."""
    outcomes = {verdict.outcome for verdict in verdicts}
    if outcomes == {"passed"}:
        return "passed"
    if outcomes == {"not implemented"}:
        return "not implemented"
    return "failed"


def update_progress(progress: dict[str, str], run: Run) -> dict[str, str]:
    updated = dict(progress)
    for exercise, verdicts in run.by_exercise().items():
        updated[exercise] = exercise_outcome(verdicts)
    return updated


# ----------------------------------------------------------------------------- rendering


class Style:
    """ANSI colours when writing to a terminal (and ``NO_COLOR`` is not set), plain text otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``▕██████░░░░▏ 12/47 exercises (26%)``."""
    filled = round(width * done / total) if total else 0
    percent = round(100 * done / total) if total else 0
    return f"▕{'█' * filled}{'░' * (width - filled)}▏ {done}/{total} exercises ({percent}%)"


def course_progress_line(course: Path, progress: dict[str, str], style: Style) -> str:
    every = [name for lesson in course_order(course) for name in exercises_of(course, lesson)]
    done = sum(progress.get(name) == "passed" for name in every)
    return style("Course ", "1") + progress_bar(done, len(every))


def _row(style: Style, label: str, verdicts: list[Verdict], speed: bool = False) -> str:
    outcome = exercise_outcome(verdicts)
    got = sum(v.points for v in verdicts if v.outcome == "passed")
    worth = sum(v.points for v in verdicts)
    if speed:
        status = {"passed": "fast enough", "failed": "too slow"}.get(outcome, outcome)
        if any(WRONG_RESULT in v.message for v in verdicts if v.outcome == "failed"):
            status = "waits for a right result"
        mark = style("⏱", "32" if outcome == "passed" else "31")
    else:
        status = "done" if outcome == "passed" else outcome
        mark = style("✓", "32") if outcome == "passed" else style("✗", "31")
    colour = {"passed": "32", "failed": "31"}.get(outcome, "33")
    return f"  {mark} {label:<36} {got:>3}/{worth:<3} {style(status, colour)}"


def scoreboard(run: Run, course: Path, style: Style) -> list[str]:
    """One line per exercise (its speed check, if any, on the line below), a line per lesson.

    A speed check (``lesson.exercise.speed``) has its own points but is not an exercise of its
    own: the lesson's "done" count is about correctness.
    """
    order = course_order(course)
    lessons: dict[str, dict[str, list[Verdict]]] = {}
    for exercise, verdicts in run.by_exercise().items():
        lessons.setdefault(exercise.split(".", 1)[0], {})[exercise] = verdicts
    lines = []
    for lesson in sorted(lessons, key=lambda name: order.index(name) if name in order else 99):
        exercises = lessons[lesson]
        number = order.index(lesson) + 1 if lesson in order else "?"
        names = list(dict.fromkeys(exercise_of(name) for name in exercises))
        done = points = maximum = 0
        rows = []
        for name in names:
            for label, key, speed in ((name, name, False), ("speed", name + SPEED, True)):
                verdicts = exercises.get(key)
                if not verdicts:
                    continue
                points += sum(v.points for v in verdicts if v.outcome == "passed")
                maximum += sum(v.points for v in verdicts)
                done += not speed and exercise_outcome(verdicts) == "passed"
                shown = f"  {label}" if speed and name in exercises else key
                rows.append(_row(style, shown, verdicts, speed=speed))
        counted = sum(name in exercises for name in names)
        title = f"Lesson {number} {lesson}"
        lines.append(
            style(f"{title:<22} {done}/{counted} exercises  {points}/{maximum} points", "1")
        )
        lines += rows
    return lines


def first_unfinished(run: Run) -> tuple[str, Verdict] | None:
    """The first exercise (in run order) with a check that did not pass, and that check;
    speed checks only once every correctness check passes."""
    exercises = run.by_exercise()
    for speed in (False, True):
        for exercise, verdicts in exercises.items():
            if is_speed(exercise) != speed:
                continue
            unfinished = [verdict for verdict in verdicts if verdict.outcome != "passed"]
            # a property that holds but waits for the exercise to do its job says least
            telling = [v for v in unfinished if not v.message.startswith(NO_FREE_POINTS)]
            if unfinished:
                return exercise, (telling or unfinished)[0]
    return None


def _remaining(course: Path, run: Run, progress: dict[str, str]) -> tuple[list[str], str | None]:
    """Exercises of the run's lessons not done yet (by ``progress``), and the next lesson."""
    order = course_order(course)
    ran = set(run.by_exercise())
    lessons = sorted(
        {name.split(".", 1)[0] for name in ran},
        key=lambda lesson: order.index(lesson) if lesson in order else len(order),
    )
    left = [
        name
        for lesson in lessons
        for name in exercises_of(course, lesson)
        if name not in ran and progress.get(name) != "passed"
    ]
    last = max((order.index(lesson) for lesson in lessons if lesson in order), default=-1)
    later = [
        lesson
        for lesson in order[last + 1 :]
        if any(progress.get(name) != "passed" for name in exercises_of(course, lesson))
    ]
    return left, (later[0] if later else None)


def next_step(
    run: Run,
    course: Path,
    style: Style,
    package: str = "lessons",
    progress: dict[str, str] | None = None,
) -> list[str]:
    """What to do next: the first failing check's property and message, the next exercise of
    the lesson (when what ran passes but the lesson is not finished), or the next lesson."""
    found = first_unfinished(run)
    if found is None:
        left, next_lesson = _remaining(course, run, progress or {})
        ran = [name for name in run.by_exercise() if not is_speed(name)]
        what = ", ".join(ran) if 0 < len(ran) <= 3 else "these exercises"
        if left:
            return [
                style(f"✓ All checks of {what} pass. ", "32")
                + f"Next: {left[0]} ({len(left)} left in this lesson) — bam check {left[0]}"
            ]
        if next_lesson is not None:
            order = course_order(course)
            return [
                style("All checks pass: the lesson is done. ", "32")
                + f"On to lesson {order.index(next_lesson) + 1}, {next_lesson}:"
                f" bam check {next_lesson}"
            ]
        return [style("All checks pass. ", "32") + "Every exercise of the course is done!"]
    exercise, verdict = found
    lesson = exercise.split(".", 1)[0]
    if verdict.outcome == "not implemented":
        return [
            style(f"Next: {exercise_of(exercise)}", "1;33")
            + f" is not implemented yet ({package}/{lesson}.py)",
            f"  Stuck? bam hint {exercise_of(exercise)}",
        ]
    message = verdict.message.strip().splitlines() or ["(no message)"]
    title = (
        style(f"⏱ {exercise_of(exercise)} is correct but too slow:", "1;31")
        if is_speed(exercise)
        else style(f"✗ {exercise} fails:", "1;31")
    )
    return [
        f"{title} {verdict.description}",
        *(f"  {line}" for line in message[:40]),
        *(["  ..."] if len(message) > 40 else []),
        f"  Stuck? bam hint {exercise_of(exercise)}",
    ]


def broken_run_lines(run: Run) -> list[str]:
    if not run.broke:
        return []
    return [
        f"The checks stopped early (pytest exit status {run.exit_code});"
        f" {len(run.verdicts)} check(s) reported. The end of its output:",
        *("  " + line for line in run.output_tail.strip().splitlines()[-30:]),
    ]


def render(run: Run, course: Path, progress: dict[str, str], style: Style, package: str) -> str:
    lines = scoreboard(run, course, style)
    if not run.verdicts and not run.broke:
        lines.append("No checks were selected.")
    lines += ["", *next_step(run, course, style, package, progress)] if run.verdicts else []
    lines += broken_run_lines(run)
    lines += ["", course_progress_line(course, progress, style)]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- one run, watch mode


@dataclass
class Checker:
    """Everything one ``bam check`` needs to run and show a lesson's checks."""

    course: Path
    solutions: bool = False
    package: str | None = None
    check_timeout: float | None = None
    style: Style = field(default_factory=lambda: Style(False))
    runner: Any = None  # a bam.warm.WarmRunner in watch mode: torch already imported

    @property
    def graded_package(self) -> str:
        return self.package or ("solutions" if self.solutions else "lessons")

    @property
    def progress_path(self) -> Path:
        return state_dir(self.course) / "progress.json"

    def check(self, targets: list[str], before: Run | None = None) -> tuple[Run, str]:
        """Runs the checks, records progress (for ``lessons/`` only), returns the run and screen.

        ``before``: verdicts of a run just made (watch mode's saved exercise), shown with these.
        """
        options: dict[str, Any] = {
            "solutions": self.solutions,
            "package": self.package,
            "check_timeout": self.check_timeout,
        }
        if self.runner is not None:
            options["runner"] = self.runner
        run = run_checks(self.course, targets, **options)
        if before is not None:
            run = Run(
                before.verdicts + run.verdicts,
                run.exit_code if run.broke else before.exit_code,
                run.output_tail,
                before.seconds + run.seconds,
            )
        progress = update_progress(load_progress(self.progress_path), run)
        if self.graded_package == "lessons" and run.verdicts:  # remember the student's own only
            save_progress(self.progress_path, progress)
        return run, render(run, self.course, progress, self.style, self.graded_package)

    def package_folder(self) -> Path:
        """The folder of the graded package: in the course, or wherever Python finds it."""
        folder = self.course / self.graded_package.replace(".", "/")
        if folder.is_dir():
            return folder
        spec = importlib.util.find_spec(self.graded_package)  # finds it without running it
        if spec is not None and spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
        return folder

    def lesson_files(self) -> dict[Path, float]:
        """Modification time of each lesson module of the graded package."""
        folder = self.package_folder()
        return {path: path.stat().st_mtime_ns for path in sorted(folder.glob("*.py"))}

    @property
    def header(self) -> str:
        return f"Boxes & Masks: watching {self.graded_package}/ (Ctrl+C to stop)"

    def targets_for(self, path: Path, before: dict[str, str] | None) -> list[str]:
        """What to check after ``path`` was saved: the exercises whose source changed since
        ``before`` (their sources at the previous save), else the whole lesson."""
        lesson = path.stem
        now = exercise_sources(path)
        if before is None or now is None:
            return [lesson]
        changed = [name for name, text in now.items() if before.get(name) != text]
        return [f"{lesson}.{name}" for name in changed] or [lesson]

    def handle_change(
        self,
        path: Path,
        before: dict[str, str] | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> str:
        """One watch-mode event: ``path`` was saved. Returns the screen to show.

        ``announce`` is called at once with a "checking ..." screen, before the checks run.
        """
        lesson = path.stem
        if not check_files(self.course, lesson):
            return f"{self.header}\n\n{path.name} was saved, but lesson {lesson!r} has no checks."
        saved = time.strftime("%H:%M:%S")
        problem = syntax_problem(path)
        if problem is not None:  # no need to start the checks to say so
            return (
                f"{self.header}\n{self.graded_package}/{path.name} saved at {saved}\n\n"
                + self.style(f"✗ {self.graded_package}/{path.name} does not parse: ", "1;31")
                + problem
            )
        targets = self.targets_for(path, before)
        if announce is not None:
            announce(
                f"{self.header}\n{self.graded_package}/{path.name} saved at {saved}\n\n"
                + self.style(f"checking {', '.join(targets)}…", "1")
            )
        run, screen = self.check(targets)
        timing = (
            f"{self.graded_package}/{path.name} saved at {saved}, checked"
            f" {', '.join(targets)} in {run.seconds:.1f} s"
        )
        rest = self.rest_of_lesson(lesson, targets, run)
        if not rest:
            return f"{self.header}\n{timing}\n\n{screen}"
        if announce is not None:  # the saved exercise's verdict first, then the rest
            announce(
                f"{self.header}\n{timing}\n\n{screen}\n\n"
                + self.style(f"checking the rest of lesson {lesson}…", "1")
            )
        run, screen = self.check(rest, before=run)
        timing += f"; the rest of lesson {lesson}: {run.seconds:.1f} s in all"
        return f"{self.header}\n{timing}\n\n{screen}"

    def rest_of_lesson(self, lesson: str, targets: list[str], run: Run) -> list[str]:
        """The lesson's other exercises, to check once the saved ones (``targets``) all pass."""
        if lesson in targets or run.broke or not run.verdicts:
            return []
        if any(verdict.outcome != "passed" for verdict in run.verdicts):
            return []
        return [name for name in exercises_of(self.course, lesson) if name not in targets]


def exercise_sources(path: Path) -> dict[str, str] | None:
    """The source text of each exercise (``__all__``) of a lesson file; None if it won't parse."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError):
        return None
    try:
        exported = facts.exported(text, str(path))
    except facts.CourseError:  # no literal __all__: no exercise to tell apart
        exported = ()
    return {
        name: ast.get_source_segment(text, node) or ""
        for name, node in facts.defined_names(tree).items()
        if name in exported
    }


def syntax_problem(path: Path) -> str | None:
    """``"line 12: invalid syntax"`` when ``path`` does not parse, else None."""
    try:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except (OSError, ValueError):
        return None
    return None


def changed_files(before: dict[Path, float], after: dict[Path, float]) -> list[Path]:
    """Files added or modified between two polls, most recently saved last."""
    changed = [path for path, mtime in after.items() if before.get(path) != mtime]
    return sorted(changed, key=lambda path: after[path])


def settled(
    checker: Checker, now: dict[Path, float], pause: float = 0.03, tries: int = 20
) -> dict[Path, float]:
    """The lesson files' modification times once they stop changing for ``pause`` seconds
    (a save caught half-way, truncated but not yet written, would be checked as empty)."""
    for _ in range(tries):
        time.sleep(pause)
        again = checker.lesson_files()
        if again == now:
            break
        now = again
    return now


def starting_lesson(checker: Checker, files: dict[Path, float]) -> Path | None:
    """The lesson file to check when watch mode starts: the most recently saved one with
    checks (ties: the earliest in the course)."""
    order = course_order(checker.course)
    candidates = [
        path for path in files if path.stem in order and check_files(checker.course, path.stem)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda path: (files[path], -order.index(path.stem)))


def watch(
    checker: Checker,
    *,
    interval: float = 0.25,
    max_events: int | None = None,
    out: TextIO = sys.stdout,
    sleep: Callable[[float], None] = time.sleep,
    clear: bool = True,
    run_on_start: bool = True,
) -> int:
    """Polls the lesson files and re-checks what was saved, in a warm checks process.

    On start it checks the most recently saved lesson (``run_on_start``). On each save it shows
    "checking lesson.exercise…" at once, then runs the checks of the exercises whose source
    changed (the whole lesson when it cannot tell) and shows the verdict.

    Args:
        checker: what to grade and how (its ``runner`` keeps torch imported between runs).
        interval: seconds between polls.
        max_events: stop after this many runs, the one at start included (``None``: run
            until interrupted).
        out: where screens are written.
        sleep: waits between polls (tests pass their own).
        clear: clear the terminal before each screen.
        run_on_start: check the most recently saved lesson before waiting for a save.

    Returns:
        The exit status: 0.
    """
    prefix = CLEAR_SCREEN if clear else ""

    def show(screen: str) -> None:
        out.write(f"{prefix}{screen}\n")
        out.flush()

    progress = load_progress(checker.progress_path)
    seen = checker.lesson_files()
    sources = {path: exercise_sources(path) for path in seen}
    first = starting_lesson(checker, seen) if run_on_start else None
    show(
        f"{checker.header}\n"
        + (
            f"checking {first.stem} (starting the checks process)…"
            if first is not None
            else "Save a lesson file to run its checks."
        )
        + f"\n\n{course_progress_line(checker.course, progress, checker.style)}"
    )
    events = 0
    try:
        if first is not None:
            show(checker.handle_change(first, None))
            events += 1
        while max_events is None or events < max_events:
            sleep(interval)
            now = checker.lesson_files()
            if not changed_files(seen, now):
                continue
            now = settled(checker, now)  # an editor may still be writing the file
            changed = changed_files(seen, now)
            seen = now
            if not changed:
                continue
            path = changed[-1]
            screen = checker.handle_change(path, sources.get(path), announce=show)
            sources[path] = exercise_sources(path) or sources.get(path)
            seen = checker.lesson_files()  # ignore saves made while the checks ran
            show(screen)
            events += 1
    except KeyboardInterrupt:
        out.write("\nStopped watching.\n")
    finally:
        if checker.runner is not None:
            checker.runner.stop()
    return 0


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
        from bam.warm import WarmRunner

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
