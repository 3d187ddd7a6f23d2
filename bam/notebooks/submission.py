"""Notebook submissions: a lesson handed in as ``.ipynb`` is graded as its lesson module.

Used by the Gradescope grader (``bam.release.gradescope.collect_submission``, as root, before any check
runs: the notebooks are read as JSON and parsed with ``ast``, never run) and by GitHub
Classroom's workflow (``bam notebooks apply``, before its graded steps). A notebook counts for a
lesson when its name is the lesson's, numbered or not (``03-metrics.ipynb``, ``metrics.ipynb``);
one in a ``notebooks/`` or ``lessons/`` folder wins over one elsewhere, a shallower one over a
deeper one, and hidden folders (``.ipynb_checkpoints``) are never looked in.

When a lesson comes both as ``lessons/<lesson>.py`` and as a notebook, the ``.py`` file wins
exercise by exercise wherever it is no longer the stub: it is what ``bam check`` graded and what
the notebook's own ``check()`` wrote, so the grade is the one the student saw. The notebook
fills in the exercises the file leaves as stubs (a student who worked only in the notebook and
handed in the untouched ``.py`` files with it is graded on the notebook).
"""

from __future__ import annotations

import re
from pathlib import Path

from bam.notebooks import cells as nbcells

FOLDERS = ("notebooks", "lessons")


def lesson_of(path: Path, lessons: set[str]) -> str | None:
    """The lesson a notebook file is for (``03-metrics.ipynb`` -> ``metrics``), or None."""
    found = re.fullmatch(r"(?:\d+[-_ ]?)?([A-Za-z_]\w*)", path.stem)
    if found is None or found.group(1) not in lessons:
        return None
    return found.group(1)


def find_notebooks(submission: Path, lessons: set[str]) -> dict[str, Path]:
    """The notebook graded for each lesson that has one in ``submission``."""
    chosen: dict[str, Path] = {}
    ranks: dict[str, tuple[bool, int, str]] = {}
    for path in sorted(submission.rglob("*.ipynb")):
        relative = path.relative_to(submission)
        lesson = lesson_of(path, lessons)
        if lesson is None or any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file() or path.is_symlink():
            continue
        rank = (path.parent.name not in FOLDERS, len(relative.parts), relative.as_posix())
        if lesson not in ranks or rank < ranks[lesson]:
            chosen[lesson], ranks[lesson] = path, rank
    return chosen


def apply_notebook(
    notebook: Path, module: Path, stub: str | None, exercises: list[str], module_submitted: bool
) -> tuple[list[str], list[str]]:
    """Writes the graded module of one lesson from its notebook (see the module docstring).

    Args:
        notebook: the submitted notebook.
        module: ``lessons/<lesson>.py`` to write (holding the submitted ``.py`` or the stub).
        stub: the lesson's stub, as handed out; None where it is not at hand (a student's
            repository): then ``module``'s own text stands in, and ``untouched`` tells which
            of its exercises are still stubs.
        exercises: the lesson's exercise names.
        module_submitted: whether ``module`` holds a submitted ``.py`` (else the stub).

    Returns:
        The exercises taken from the notebook, and lines that say what was graded from where.
    """
    try:
        sources = nbcells.code_cells(notebook.read_bytes())
    except (OSError, nbcells.NotebookError) as error:
        return [], [f"{notebook.name}: not read as a notebook ({error}); not graded"]
    chosen = nbcells.choose(sources, exercises, where=f"{notebook.name}: cell")
    current = module.read_text("utf-8", errors="replace") if module_submitted else None
    base = stub if stub is not None else current or ""
    text, taken, notes = nbcells.module_first(
        current, base, chosen, exercises, stub_is_pristine=stub is not None
    )
    if taken:
        module.write_text(text, "utf-8")
    lines = [*chosen.notes, *notes]
    if taken:
        lines.append(f"{notebook.name}: graded {', '.join(taken)} from the notebook")
    else:
        lines.append(f"{notebook.name}: no exercise to take from it (stubs, or done in the .py)")
    return taken, lines


def apply_notebooks(
    submission: Path, lessons_dir: Path, stubs: dict[str, str], submitted: set[str]
) -> tuple[dict[str, Path], list[str]]:
    """Writes every lesson notebook of ``submission`` into ``lessons_dir`` (``apply_notebook``).

    Args:
        submission: the submission folder.
        lessons_dir: the ``lessons/`` folder being graded.
        stubs: each lesson's stub, by lesson (read before any submitted file was copied).
        submitted: the lessons whose ``.py`` file was submitted (already in ``lessons_dir``).

    Returns:
        The notebooks something was taken from, by lesson; and lines saying what was taken.
    """
    from bam import course as facts

    used: dict[str, Path] = {}
    lines: list[str] = []
    for lesson, notebook in sorted(find_notebooks(submission, set(stubs)).items()):
        exercises = list(facts.exported(stubs[lesson], f"lessons/{lesson}.py"))
        module = lessons_dir / f"{lesson}.py"
        taken, said = apply_notebook(
            notebook, module, stubs[lesson], exercises, lesson in submitted
        )
        lines += said
        if taken:
            used[lesson] = notebook
    return used, lines
