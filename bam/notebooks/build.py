"""Builds ``NN-<lesson>.ipynb`` from the lesson's stub and its docs page (``bam notebooks build``).

A notebook is never written by hand, so it cannot drift from the lesson: it is made from

* ``lessons/<lesson>.py``: the module docstring (its notation) as markdown; the given code
  (imports, constants, helpers) as code cells tagged ``given``, relative imports made absolute
  (``from .metrics import box_iou`` -> ``from lessons.metrics import box_iou``); each exercise
  (``__all__``) as its own code cell, tagged ``exercise`` with ``metadata.bam.exercise`` set,
  followed by a ``check("lesson.name")`` cell;
* ``docs/lessons/<lesson>.md``: the lesson's text, cut at its exercise markers
  (``bam.notebooks.markdown``);
* ``bam/plots``: a ``figure(...)`` cell per figure of the page, drawn with the student's code.

Notebooks are built, not committed: into a student release (``notebooks/``, from the committed
stubs), into the site (``docs/notebooks/``, each lesson page links its own) and, for whoever
works in the course repository, by ``bam notebooks build``. ``solutions=`` gives the notebooks
the reference code in their exercise cells: the course's tests run those, every check passing.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from bam import course as facts
from bam.notebooks import markdown

NBFORMAT = (4, 5)
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

HOW_TO = """\
**How this notebook works.** Each exercise has a code cell with its stub: fill in the `# TODO`, run
the cell, then run the `check(...)` cell under it. `check` writes your exercise cells into
`lessons/{lesson}.py` (the lesson module `bam check`, the pipelines and the other lessons use; a
finished function there is never replaced by a cell that still raises `NotImplementedError`) and
runs the same checks as `bam check`, in a separate process, showing the verdict here. Keep the
helpers an exercise needs in its own cell: only definitions (`def`, `class`, `import`, constants)
are taken from a cell, so lines that try your function out never break the lesson. Stuck?
`hint("{lesson}.NAME")` shows one more hint each time. Everything runs offline on the bundled data;
the lesson's text is also on the course site ([docs/lessons/{lesson}.md](../docs/lessons/{lesson}.md))."""

SETUP = 'from bam.notebooks import check, figure, hint, setup\n\nsetup("{lesson}")'


def _cell_id(*parts: str) -> str:
    text = "-".join(parts).replace("_", "-").replace(".", "-")
    return "".join(ch for ch in text if ch.isalnum() or ch == "-")[:64]


def _lines(text: str) -> list[str]:
    """A cell's source as Jupyter saves it: a list of lines, each but the last with its end."""
    return text.splitlines(keepends=True)


def markdown_cell(text: str, *parts: str) -> dict:
    return {"cell_type": "markdown", "id": _cell_id(*parts), "metadata": {}, "source": _lines(text)}


def code_cell(text: str, *parts: str, tags: tuple[str, ...] = (), bam: dict | None = None) -> dict:
    metadata: dict = {"tags": list(tags)} if tags else {}
    if bam:
        metadata["bam"] = bam
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": _cell_id(*parts),
        "metadata": metadata,
        "outputs": [],
        "source": _lines(text),
    }


def absolute_imports(source: str) -> str:
    """``source`` with ``from .x import y`` / ``from . import x`` as imports from ``lessons``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in reversed(tree.body):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            module = f"lessons.{node.module}" if node.module else "lessons"
            fixed = ast.ImportFrom(module=module, names=node.names, level=0)
            lines[node.lineno - 1 : node.end_lineno] = [ast.unparse(fixed)]
    return "\n".join(lines)


def module_parts(source: str, exercises: list[str]) -> tuple[str, list[tuple[str | None, str]]]:
    """A lesson module as its docstring and ``(exercise or None for given code, source)`` parts,
    in file order; the statements between two exercises make one given part, as written."""
    tree = ast.parse(source)
    lines = source.splitlines()
    body = tree.body
    docstring = ast.get_docstring(tree) or ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    parts: list[tuple[str | None, str]] = []
    given: list[int] = []  # first and last line of the given statements so far

    def flush() -> None:
        if given:
            text = "\n".join(lines[given[0] - 1 : given[-1]]).strip("\n")
            parts.append((None, absolute_imports(text)))
            given.clear()

    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue  # a notebook cell needs none
        names = facts.defined_names(ast.Module(body=[node], type_ignores=[]))
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        exercise = next((name for name in names if name in exercises), None)
        if exercise is None:
            given[:] = [given[0] if given else first, node.end_lineno or first]
            continue
        flush()
        parts.append((exercise, "\n".join(lines[first - 1 : node.end_lineno])))
    flush()
    return docstring, parts


def solution_parts(solution: str, stub: str, exercises: list[str]) -> dict[str, str]:
    """Each exercise's cell with the reference code: its definition in ``solution`` and the
    solution's statements that the stub does not have (its own helpers and imports), each in
    the cell of the first exercise that uses it (else of the exercise it follows)."""
    stub_nodes = {ast.dump(node) for node in ast.parse(stub).body}
    lines = solution.splitlines()
    parts: dict[str, list[str]] = {}
    used: dict[str, set[str]] = {}
    extra: list[tuple[str | None, list[str], str]] = []  # (previous exercise, names, text)
    previous = None
    for node in ast.parse(solution).body:
        names = list(facts.defined_names(ast.Module(body=[node], type_ignores=[])))
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "\n".join(lines[first - 1 : node.end_lineno])
        exercise = next((name for name in names if name in exercises), None)
        if exercise is not None:
            parts[exercise] = [text]
            used[exercise] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            previous = exercise
        elif ast.dump(node) not in stub_nodes:
            extra.append((previous, names, text))
    for after, names, text in extra:
        users = [name for name in parts if used[name] & set(names)]
        home = users[0] if users else after or next(iter(parts))
        parts[home].append(text)
    return {name: absolute_imports("\n\n\n".join(texts)) for name, texts in parts.items()}


def _docstring_cell(lesson: str, docstring: str) -> dict:
    text = (
        f"### The lesson module, `lessons/{lesson}.py`\n\nIts docstring: what the lesson builds"
        " and its notation.\n\n```text\n" + docstring.strip() + "\n```"
    )
    return markdown_cell(text, lesson, "module")


def _exercise_cells(lesson: str, name: str, code: str, section: str) -> list[dict]:
    cells = [markdown_cell(section or f"### `{name}`", lesson, name, "text")]
    bam = {"exercise": f"{lesson}.{name}"}
    cells.append(code_cell(code, lesson, name, tags=("exercise",), bam=bam))
    cells.append(code_cell(f'check("{lesson}.{name}")', lesson, name, "check", tags=("check",)))
    return cells


def _figure_cells(lesson: str, names: list[str]) -> list[dict]:
    if not names:
        return []
    text = (
        "## Your figures\n\nThe lesson's figures, drawn by the course's plotting code"
        " (`bam/plots`) with *your* functions: the ones defined in this notebook for this lesson,"
        " and `lessons/<lesson>.py` for the lessons it builds on. A figure that needs an exercise"
        " you have not done yet says which."
    )
    cells = [markdown_cell(text, lesson, "figures")]
    for name in names:
        cells.append(code_cell(f'figure("{name}", "{lesson}")', lesson, "figure", name))
    return cells


def lesson_notebook(
    course: Path, lesson: str, stub: str, page: str, solution: str | None = None
) -> dict:
    """The notebook of one lesson, as nbformat 4 JSON data.

    Args:
        course: the course folder (its ``lessons/__init__.py``, ``docs/``, ``bam/plots``).
        lesson: the lesson.
        stub: the text of ``lessons/<lesson>.py`` (the committed stub).
        page: the text of ``docs/lessons/<lesson>.md``.
        solution: the reference module's text: its code goes into the exercise cells.
    """
    order = list(facts.lessons(course))
    exercises = list(facts.exported(stub, f"lessons/{lesson}.py"))
    plots, docs = course / "bam" / "plots", course / "docs"
    placed = markdown.placed_figures(docs) if docs.is_dir() else set()
    own = [name for name in markdown.lesson_figures(plots, lesson) if name not in placed]
    cut = markdown.parse_page(page, lesson, order, own)
    docstring, parts = module_parts(stub, exercises)
    answers = solution_parts(solution, stub, exercises) if solution is not None else {}
    intro = f"# {cut.title}\n\n" + HOW_TO.format(lesson=lesson)
    cells = [markdown_cell(intro, lesson, "intro")]
    cells.append(code_cell(SETUP.format(lesson=lesson), lesson, "setup", tags=("setup",)))
    cells += [markdown_cell(text, lesson, "text", str(i)) for i, text in enumerate(cut.before)]
    cells.append(_docstring_cell(lesson, docstring))
    if cut.between:
        cells.append(markdown_cell(cut.between, lesson, "exercises"))
    for number, (name, code) in enumerate(parts):
        if name is None:
            tags = ("given",)
            cells.append(code_cell(code, lesson, "given", str(number), tags=tags))
            continue
        code = answers.get(name, code)
        cells += _exercise_cells(lesson, name, code, cut.exercises.get(name, ""))
    cells += _figure_cells(lesson, cut.figures)
    cells += [markdown_cell(text, lesson, "after", str(i)) for i, text in enumerate(cut.after)]
    whole = f"## The whole lesson\n\nEvery check of lesson {order.index(lesson) + 1} at once."
    cells.append(markdown_cell(whole, lesson, "whole"))
    cells.append(code_cell(f'check("{lesson}")', lesson, "check", "lesson", tags=("check",)))
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": KERNEL,
            "language_info": {"name": "python"},
            "bam": {"lesson": lesson, "solutions": solution is not None},
        },
        "nbformat": NBFORMAT[0],
        "nbformat_minor": NBFORMAT[1],
    }


def dumps(notebook: dict) -> str:
    """A notebook's file text, as nbformat writes it (stable: sorted keys, one-space indent)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build_notebooks(
    course: Path,
    out_dir: Path,
    stubs: dict[str, str] | None = None,
    solutions: Path | None = None,
) -> list[Path]:
    """Writes every lesson's notebook into ``out_dir``; returns their paths in course order.

    Args:
        course: the course folder.
        out_dir: where ``NN-<lesson>.ipynb`` go (created; other ``.ipynb`` files there are
            removed, so a renamed lesson leaves no stale notebook).
        stubs: each lesson's stub text by lesson (default: ``lessons/<lesson>.py`` as it is).
        solutions: a folder of reference modules (``solutions/``) to fill the exercise cells.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.ipynb"):
        stale.unlink()
    written = []
    for number, lesson in enumerate(facts.lessons(course), start=1):
        page_path = course / "docs" / "lessons" / f"{lesson}.md"
        if stubs is not None and lesson in stubs:
            stub = stubs[lesson]
        else:
            stub = (course / "lessons" / f"{lesson}.py").read_text("utf-8")
        page = page_path.read_text("utf-8") if page_path.is_file() else f"# {lesson}\n"
        solution = None
        if solutions is not None:
            solution = (solutions / f"{lesson}.py").read_text("utf-8")
        path = out_dir / markdown.notebook_name(number, lesson)
        path.write_text(dumps(lesson_notebook(course, lesson, stub, page, solution)), "utf-8")
        written.append(path)
    return written
