"""What a lesson notebook calls: ``setup``, ``check``, ``figure`` and ``hint``.

``check("metrics.box_iou")`` grades the notebook the way ``bam check`` grades a file, because it
*is* ``bam check`` on a file: it takes the exercise's code from the cells this kernel has run
(``bam.notebooks.cells``: the last cell run that defines it, its definitions only), writes it
into ``lessons/<lesson>.py`` and runs the checks of ``bam check`` (``bam.checking``) on
that module, in a separate process (the warm one of ``bam check --watch``): the checks never run
in the kernel, and the student's code never runs in the grader. The notebook is the editor of the
lesson module: ``bam check``, the pipelines (``--impl lessons``) and later lessons see the work.

Writing never loses work: a cell that still raises ``NotImplementedError`` does not replace a
finished definition in the file, and a file changed since ``check`` last wrote it (edited by hand)
is first copied to ``.bam/backups/``.

``BAM_NOTEBOOK_STRICT=1`` (the course's own tests) makes a failing check or figure raise, so
that executing a notebook fails.
"""

from __future__ import annotations

import atexit
import importlib
import io
import json
import os
import shutil
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bam import course as facts
from bam.notebooks import cells as nbcells

STRICT = "BAM_NOTEBOOK_STRICT"
WRITES = "notebook-writes.json"  # in the state folder: what check() last wrote, per lesson


class CheckFailed(AssertionError):
    """A check did not pass (raised only with ``BAM_NOTEBOOK_STRICT=1``)."""


@dataclass
class Session:
    """The kernel's course folder, its lesson and the warm checks process."""

    course: Path
    lesson: str
    runner: Any = None
    notes: list[str] = field(default_factory=list)


_SESSION: list[Session] = []  # the one session of this kernel, once set up


def _strict() -> bool:
    return os.environ.get(STRICT) == "1"


def setup(lesson: str, course: str | Path | None = None) -> None:
    """Finds the course (from the notebook's folder up), puts it first on ``sys.path`` (so
    ``lessons`` is the course's own) and remembers the lesson.

    Raises:
        ValueError: for a lesson the course does not have.
    """
    from bam.checking.runner import find_course

    folder = Path(course).resolve() if course is not None else find_course(Path.cwd())
    if lesson not in facts.lessons(folder):
        raise ValueError(f"no lesson {lesson!r}; the lessons: {', '.join(facts.lessons(folder))}")
    if sys.path[:1] != [str(folder)]:
        sys.path.insert(0, str(folder))
    stale = sys.modules.get("lessons")
    if stale is not None and Path(getattr(stale, "__file__", "")).parent.parent != folder:
        for name in [n for n in sys.modules if n == "lessons" or n.startswith("lessons.")]:
            del sys.modules[name]  # imported from another copy of the course before setup
    if _SESSION and _SESSION[0].runner is not None:
        _SESSION[0].runner.stop()
    _SESSION[:] = [Session(folder, lesson)]
    print(
        f"Lesson {facts.lessons(folder).index(lesson) + 1}, {lesson}: check() grades"
        f" lessons/{lesson}.py in {folder}"
    )


def _session(lesson: str) -> Session:
    if not _SESSION:
        setup(lesson)
    return _SESSION[0]


def history() -> list[str]:
    """The sources of the cells this kernel has run, in the order it ran them."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None:
        return []
    return [str(source) for source in shell.history_manager.input_hist_parsed[1:]]


def _backup(course: Path, lesson: str, current: str) -> Path | None:
    """Copies ``lessons/<lesson>.py`` to ``.bam/backups/`` unless check() wrote it last."""
    from bam.checking.runner import state_dir

    record = state_dir(course) / WRITES
    try:
        written = json.loads(record.read_text("utf-8"))
    except (OSError, ValueError):
        written = {}
    if written.get(lesson) == nbcells.fingerprint(current):
        return None
    if not nbcells.has_work(current, facts.exercises(lesson, course)):
        return None  # as handed out: nothing to keep
    backup = state_dir(course) / "backups" / f"{lesson}-{time.strftime('%Y%m%d-%H%M%S')}.py"
    backup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(course / "lessons" / f"{lesson}.py", backup)
    return backup


def _remember(course: Path, lesson: str, text: str) -> None:
    from bam.checking.runner import state_dir

    record = state_dir(course) / WRITES
    try:
        written = json.loads(record.read_text("utf-8"))
    except (OSError, ValueError):
        written = {}
    written[lesson] = nbcells.fingerprint(text)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(written, indent=1, sort_keys=True) + "\n", "utf-8")


def write_lesson(
    course: Path, lesson: str, sources: list[str], names: list[str]
) -> tuple[bool, list[str]]:
    """Writes the exercises ``names`` from the cells ``sources`` into ``lessons/<lesson>.py``.

    Returns:
        Whether the file changed, and notes in words (what was kept, skipped or backed up).
    """
    path = course / "lessons" / f"{lesson}.py"
    current = path.read_text("utf-8")
    chosen = nbcells.choose(sources, facts.exercises(lesson, course), where="In")
    notes = list(chosen.notes)
    absent = [name for name in names if name not in chosen.cells]
    if absent:
        notes.append(
            f"no cell run in this kernel defines {', '.join(absent)}: graded as lessons/"
            f"{lesson}.py has it (run the exercise's cell first)"
        )
    try:
        text, kept = nbcells.notebook_first(current, chosen, names)
    except nbcells.PARSE_ERRORS as error:
        line = getattr(error, "lineno", "?")
        notes.append(f"lessons/{lesson}.py does not parse (line {line}): fix it, or restore it")
        return False, notes
    notes += kept
    if text == current:
        return False, notes
    backup = _backup(course, lesson, current)
    if backup is not None:
        notes.append(f"lessons/{lesson}.py had work check() did not write: a copy is in {backup}")
    path.write_text(text, "utf-8")
    _remember(course, lesson, text)
    return True, notes


def _runner(session: Session) -> Any:
    if session.runner is None:
        from bam.checking.runner import check_environment
        from bam.checking.warm import WarmRunner

        session.runner = WarmRunner(session.course, check_environment(session.course))
        atexit.register(session.runner.stop)
    return session.runner


def check(target: str) -> None:
    """Writes the notebook's code of ``target`` into its lesson module and grades it there.

    Args:
        target: an exercise (``"metrics.box_iou"``, with its speed check) or a lesson
            (``"metrics"``: all of its exercises).

    Raises:
        CheckFailed: with ``BAM_NOTEBOOK_STRICT=1``, when a check does not pass.
    """
    from bam.checking.scoreboard import Style
    from bam.checking.watch import Checker

    lesson, _, name = target.partition(".")
    session = _session(lesson)
    exercises = list(facts.exercises(lesson, session.course))
    if name and name not in exercises:
        raise ValueError(f"{target!r}: lesson {lesson} has no exercise {name!r} ({exercises})")
    _, notes = write_lesson(session.course, lesson, history(), [name] if name else exercises)
    style = Style(not os.environ.get("NO_COLOR"))
    checker = Checker(session.course, style=style, runner=_runner(session))
    run, screen = checker.check([target])
    for note in notes:
        print(style("note: ", "2") + note)
    print(screen)
    failing = [v for v in run.verdicts if v.outcome != "passed"]
    if _strict() and (failing or run.broke or not run.verdicts):
        raise CheckFailed(f"{target}: {len(failing)} check(s) did not pass\n{screen[-3000:]}")


def hint(exercise: str) -> None:
    """One more hint of ``exercise`` each time (as ``bam hint``)."""
    from bam.cli import main

    main(["hint", exercise])


def user_namespace() -> dict[str, Any]:
    """The kernel's global names (``__main__``'s outside IPython)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def notebook_module(session: Session, lesson: str) -> types.ModuleType:
    """A lesson's code as the notebook has it: ``lessons.<lesson>`` (imported afresh) with, for
    the notebook's own lesson, the exercises its cells define in this kernel instead."""
    name = f"lessons.{lesson}"
    try:
        base = importlib.reload(sys.modules[name]) if name in sys.modules else None
        base = base or importlib.import_module(name)
    except Exception:  # the file is broken: the notebook's own cells may still draw
        if lesson != session.lesson:
            raise
        base = None
    if lesson != session.lesson:
        return base
    module = types.ModuleType(name, f"lessons/{lesson}.py with this notebook's exercises")
    module.__dict__.update({k: v for k, v in vars(base).items() if k != "__name__"} if base else {})
    namespace = user_namespace()
    chosen = nbcells.choose(history(), facts.exercises(lesson, session.course))
    for exercise in chosen.cells:
        if exercise in namespace:
            setattr(module, exercise, namespace[exercise])
    return module


def _where(error: BaseException) -> str:
    """The exercise a ``NotImplementedError`` came from: ``lesson.name`` when it was raised in
    a lesson module, else the function's name (a notebook cell's)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    path = Path(frames[-1].filename)
    if path.parent.name == "lessons":
        return f"{path.stem}.{frames[-1].name} (lessons/{path.name})"
    return frames[-1].name


def figure(name: str, lesson: str) -> None:
    """Draws the course figure ``name`` with the notebook's own code, and shows it.

    Args:
        name: a figure of ``bam.plots`` (``bam figures --list``), e.g. ``"anchor-labels"``.
        lesson: the notebook's lesson: its exercises come from this kernel's cells, the other
            lessons' from ``lessons/``.

    Raises:
        CheckFailed: with ``BAM_NOTEBOOK_STRICT=1``, when it cannot be drawn.
    """
    import warnings

    session = _session(lesson)
    try:
        with warnings.catch_warnings(), facts.drawing_with(lambda o: notebook_module(session, o)):
            warnings.filterwarnings("ignore", "IProgress not found")  # tqdm, via transformers
            from bam.plots import all_figures

            drawn = all_figures()[name]()
    except NotImplementedError as error:
        message = (
            f"{name} is drawn once {_where(error)} is done: it still raises NotImplementedError"
        )
        if _strict():
            raise CheckFailed(message) from error
        print(message)
        return
    buffer = io.BytesIO()
    drawn.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    try:
        from IPython.display import Image, display
    except ImportError:
        print(f"{name}: {len(buffer.getvalue())} bytes of PNG (run it in Jupyter to see it)")
        return
    display(Image(data=buffer.getvalue()))
