"""One ``bam check`` run, and ``--watch`` mode: re-running the changed exercises on every save.

``Checker`` runs targets and renders the screen; ``watch`` polls the lesson files' modification
times (no extra dependency) and, on each save, shows "checking lesson.exercise…" at once, runs
the checks of the exercises whose source changed (the whole lesson when it cannot tell), and when
they pass checks the rest of the lesson and shows the first one not done yet.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bam import course as facts
from bam.checking.progress import load_progress, save_progress, update_progress
from bam.checking.runner import Run, check_files, course_order, exercises_of, run_checks, state_dir
from bam.checking.scoreboard import Style, course_progress_line, render

CLEAR_SCREEN = "\033[2J\033[H"


@dataclass
class Checker:
    """Everything one ``bam check`` needs to run and show a lesson's checks."""

    course: Path
    solutions: bool = False
    package: str | None = None
    check_timeout: float | None = None
    style: Style = field(default_factory=lambda: Style(False))
    runner: Any = None  # a bam.checking.warm.WarmRunner in watch mode: torch already imported

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
