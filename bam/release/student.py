"""Releasing the course: a student copy without ``solutions/``, and the graders' files.

* ``make_student_release(course, out_dir)`` copies what a student needs — ``lessons/`` (the
  stubs), ``given/`` (the helpers they call), ``checks/``, ``bam/``, ``data/``, the docs sources and the project files — and leaves
  out ``solutions/``, ``tests/`` (whose known mistakes are built on the solutions) and the
  instructors' ``grading/``. It then verifies that nothing the checks import needs
  ``solutions``. The copy stands on its own:

  - ``lessons/`` comes from the *committed* tree (``git show HEAD:lessons/…``), so an
    instructor's filled-in working copy never leaks; a committed lesson that is not a pristine
    stub (an exercise of its ``__all__`` that does more than ``raise NotImplementedError``)
    stops the release, naming the file and the exercise. Outside git the working tree is
    checked the same way.
  - its ``README.md`` is ``release/README.md`` (what a student does), its ``pyproject.toml``
    makes a bare ``pytest`` grade ``checks/`` (its root ``conftest.py``, ``release/conftest.py``,
    lets ``pytest --exercise X`` work there without naming ``checks``), and its ``.gitignore`` keeps the prebuilt docs
    assets (so a Classroom template repository carries them);
  - ``notebooks/`` holds every lesson as a Jupyter notebook, built from the released stubs and
    the docs pages (``bam.notebooks``; also in ``docs/notebooks/``, which the lesson pages
    link); the copy's ``.gitignore`` does not ignore them: they are the student's to commit;
  - the docs figures are drawn here, with the reference solutions, into
    ``docs/figures/`` with a ``figures.json`` manifest, and KaTeX is copied into
    ``docs/assets/katex/``: ``mkdocs build --strict`` and ``bam figures`` work in the copy
    without ``solutions/`` and offline.
* ``github_classroom_files(course)`` writes a GitHub Classroom workflow with one graded step per
  exercise (``pytest checks --exercise <lesson.name>``, after ``bam notebooks apply`` has
  written the exercises done in notebooks into ``lessons/``), worth that exercise's points, so
  Classroom gives partial credit exercise by exercise as Gradescope does.
* The Gradescope autograder zip is built by ``bam.release.gradescope``.

Used by ``bam release student`` (``bam/commands/release.py``).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bam import course as facts
from bam.notebooks.build import build_notebooks
from bam.notebooks.markdown import notebook_name
from bam.release.stubs import ReleaseError, released_lessons

# what a student copy holds, relative to the course folder (missing ones are skipped)
RELEASED = (
    "README.md",
    "LICENSE",
    "pyproject.toml",
    "mkdocs.yml",
    ".gitignore",
    "bam",
    "given",
    "checks",
    "lessons",
    "data",
    "docs",
)
# never copied, wherever they appear
SKIPPED_NAMES = (
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".DS_Store",
    ".bam",
    "*.egg-info",
)
WITHHELD = ("solutions", "tests", "grading", ".notes", ".git", "tools", ".ci", "release")
# the student copy's own files, in the instructors' course (never copied as such)
RELEASE_README = Path("release") / "README.md"
# its root conftest.py: `pytest --exercise X` from the copy's root (checks/conftest.py's options)
RELEASE_CONFTEST = Path("release") / "conftest.py"
# generated docs assets: not copied from the course (possibly stale), made afresh for the copy
GENERATED_DOCS = ("figures", "assets/katex", "notebooks")
NOTEBOOKS = "notebooks"  # the lessons as Jupyter notebooks (bam.notebooks), built for the copy
FIGURES_MANIFEST = "figures.json"


# ----------------------------------------------------------------------------- what imports what


def imported_modules(path: Path) -> set[str]:
    """Top-level and dotted names of every module ``path`` imports (read with ``ast``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_file(course: Path, name: str) -> Path | None:
    parts = name.split(".")
    for candidate in (
        course.joinpath(*parts).with_suffix(".py"),
        course.joinpath(*parts, "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def modules_needing_solutions(course: Path, roots: list[Path]) -> list[str]:
    """Files among ``roots`` and the course modules they import (transitively) that import
    ``solutions``, each with the chain that leads to it.

    Args:
        course: the course folder.
        roots: the files to start from (e.g. every ``checks/*.py``).

    Returns:
        Lines like ``"checks/test_x.py -> bam/plots/y.py imports solutions.rpn"``; empty if none.
    """
    problems: list[str] = []
    seen: set[Path] = set()
    stack: list[tuple[Path, list[str]]] = [(root, []) for root in roots]
    while stack:
        path, chain = stack.pop()
        if path in seen:
            continue
        seen.add(path)
        here = [*chain, path.relative_to(course).as_posix()]
        names = imported_modules(path)
        for name in sorted(names):
            if name == "solutions" or name.startswith("solutions."):
                if name.rpartition(".")[0] not in names:  # `from solutions.x import y`: say x
                    problems.append(f"{' -> '.join(here)} imports {name}")
                continue
            if name.split(".", 1)[0] not in {"bam", "given", "checks", "lessons"}:
                continue
            found = _module_file(course, name)
            if found is not None and found not in seen:
                stack.append((found, here))
    return sorted(set(problems))


# ----------------------------------------------------------------------------- points per lesson


def check_points(course: Path) -> dict[str, dict[str, int]]:
    """Points of each exercise, from the ``@exercise("lesson.name", points=N)`` of the checks.

    Returns:
        ``{"metrics": {"metrics.box_iou": 4, ...}, ...}``, lessons in file-name order.
    """
    points: dict[str, dict[str, int]] = {}
    checks = course / "checks"
    # the lessons' own check files first, then checks/speed/ (an exercise before its speed)
    for path in sorted(
        checks.rglob("test_*.py"), key=lambda p: (len(p.relative_to(checks).parts), p.name)
    ):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                if not (
                    isinstance(decorator, ast.Call)
                    and getattr(decorator.func, "id", None) == "exercise"
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                ):
                    continue
                name = str(decorator.args[0].value)
                worth = next(
                    (
                        int(ast.literal_eval(keyword.value))
                        for keyword in decorator.keywords
                        if keyword.arg == "points"
                    ),
                    1,
                )
                lesson = name.split(".", 1)[0]
                points.setdefault(lesson, {})
                points[lesson][name] = points[lesson].get(name, 0) + worth
    return points


def _course_order(course: Path) -> list[str]:
    """The lessons in course order (``bam.course.lessons``)."""
    try:
        return list(facts.lessons(course))
    except facts.CourseError as error:
        raise ReleaseError(str(error)) from None


def lesson_points(course: Path) -> list[tuple[str, int]]:
    """``[(lesson, total points), ...]`` in course order, for lessons that have checks."""
    points = check_points(course)
    order = _course_order(course)
    lessons = sorted(points, key=lambda name: order.index(name) if name in order else len(order))
    return [(lesson, sum(points[lesson].values())) for lesson in lessons]


# ----------------------------------------------------------------------------- GitHub Classroom

SETUP_COMMAND = (
    "python -m pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu -e ."
)


APPLY_NOTEBOOKS = "python -m bam notebooks apply"  # a lesson done in its notebook counts too


def _autograding_tests(
    lessons: list[tuple[str, int]], exercises: dict[str, dict[str, int]], timeout_minutes: int
) -> list[dict[str, object]]:
    """One Classroom test per exercise, ``pytest checks --exercise lesson.name``, worth its
    points, lessons in course order (the format of Classroom's "add autograding tests" page).

    Args:
        lessons: ``lesson_points``: ``[(lesson, points), ...]`` in course order.
        exercises: ``check_points``: the points of each exercise, by lesson.
        timeout_minutes: each test's time limit.
    """
    return [
        {
            "name": f"{name} ({worth} points)",
            "setup": "",
            "run": f"{APPLY_NOTEBOOKS} && python -m pytest checks --exercise {name} -q --tb=short",
            "input": "",
            "output": "",
            "comparison": "included",
            "timeout": timeout_minutes,
            "points": worth,
        }
        for lesson, _ in lessons
        for name, worth in exercises[lesson].items()
    ]


def _classroom_workflow(
    lessons: list[tuple[str, int]], order: list[str], timeout_minutes: int
) -> str:
    """The workflow Classroom runs on every push: a graded step per lesson (``lessons``, from
    ``lesson_points``; numbered by their place in ``order``), then the reporter."""
    lines = [
        "# Generated by `bam release student --github-classroom`: one step per lesson, each check",
        "# worth its own points (partial credit). Regenerate it after changing the checks.",
        "name: Autograding Tests",
        '"on":',
        "  - push",
        "  - workflow_dispatch",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.11"',
        "      - name: Install the course (CPU PyTorch)",
        f"        run: {SETUP_COMMAND}",
        "      - name: Take the exercises done in notebooks into lessons/",
        f"        run: {APPLY_NOTEBOOKS}",
    ]
    for lesson, points in lessons:
        number = order.index(lesson) + 1 if lesson in order else "?"
        lines += [
            f'      - name: "Lesson {number}: {lesson} ({points} points)"',
            f"        id: lesson_{lesson}",
            f"        timeout-minutes: {timeout_minutes}",
            f"        run: python -m bam.release.classroom {lesson} --max-score {points}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        "        if: always()",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(
            f'          LESSON_{lesson.upper()}_RESULTS: "${{{{steps.lesson_{lesson}.outputs.result}}}}"'
            for lesson, _ in lessons
        ),
        "        with:",
        f"          runners: {','.join(f'lesson_{lesson}' for lesson, _ in lessons)}",
    ]
    return "\n".join(lines) + "\n"


def github_classroom_files(course: Path, timeout_minutes: int = 15) -> dict[str, str]:
    """The files GitHub Classroom needs in the students' repository, by relative path.

    ``.github/workflows/classroom.yml`` is the workflow GitHub Classroom runs on every push: one
    step per lesson, ``python -m bam.release.classroom LESSON``, which grades the lesson once and reports
    each check with its own score (partial credit, as Gradescope gives), then the reporter that
    adds them up and sends the points to Classroom. ``.github/classroom/autograding.json`` lists
    one test per *exercise* (``pytest checks --exercise lesson.name``, worth the exercise's
    points) in the format of Classroom's "add autograding tests" page, for instructors who set
    the tests up there instead (that page gives each test all of its points or none).
    """
    lessons = lesson_points(course)
    if not lessons:
        raise ReleaseError(f"no checks with @exercise(...) under {course / 'checks'}")
    tests = _autograding_tests(lessons, check_points(course), timeout_minutes)
    workflow = _classroom_workflow(lessons, _course_order(course), timeout_minutes)
    return {
        ".github/workflows/classroom.yml": workflow,
        ".github/classroom/autograding.json": json.dumps({"tests": tests}, indent=2) + "\n",
    }


# ----------------------------------------------------------------------------- the copy's own files


def release_pyproject(text: str) -> str:
    """The course's ``pyproject.toml`` for the student copy: a bare ``pytest`` grades ``checks/``."""
    import tomllib

    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.replace(" ", "").startswith("testpaths="):
            lines[index] = 'testpaths = ["checks"]'
            break
    else:
        raise ReleaseError("pyproject.toml has no testpaths line under [tool.pytest.ini_options]")
    result = "\n".join(lines) + "\n"
    assert tomllib.loads(result)["tool"]["pytest"]["ini_options"]["testpaths"] == ["checks"]
    return result


def release_gitignore(text: str) -> str:
    """The course's ``.gitignore`` without the generated docs assets the copy ships."""
    shipped = {f"docs/{name}/" for name in GENERATED_DOCS} | {
        f"docs/{name}" for name in GENERATED_DOCS
    }
    shipped |= {f"/{NOTEBOOKS}/", f"{NOTEBOOKS}/"}  # the student's own: they commit them
    return "".join(line for line in text.splitlines(keepends=True) if line.strip() not in shipped)


DRAW_FIGURES = r"""
import inspect, json, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
from bam.plots import all_figures, save_figures
out = Path(sys.argv[1])
save_figures(out)
figures = {
    name: {"module": draw.__module__.rsplit(".", 1)[-1], "doc": inspect.getdoc(draw) or ""}
    for name, draw in sorted(all_figures().items())
}
manifest = {"drawn_with": "solutions", "figures": figures}
(out / "figures.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
"""


def draw_release_figures(course: Path, out: Path) -> int:
    """Draws the docs figures with the course's code and solutions into ``out`` (a child
    process), with ``figures.json``: their modules and docstrings, read by ``docs/hooks.py``
    and ``bam figures`` where ``solutions`` is absent. Returns the number of figures."""
    environment = dict(os.environ, PYTHONPATH=str(course), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-c", DRAW_FIGURES, str(out)],
        cwd=course,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ReleaseError(f"drawing the docs figures failed:\n{done.stderr[-3000:]}")
    return len(json.loads((out / FIGURES_MANIFEST).read_text("utf-8"))["figures"])


PROVIDE_KATEX = "import runpy; runpy.run_path('docs/hooks.py')['provide_katex']()"


def copy_katex(course: Path, out: Path) -> bool:
    """Copies KaTeX (fetched by the docs hooks if the course has none yet) into ``out``."""
    katex = course / "docs" / "assets" / "katex"
    if not (katex / "katex.min.js").is_file():
        subprocess.run(
            [sys.executable, "-c", PROVIDE_KATEX], cwd=course, capture_output=True, check=False
        )
    if not (katex / "katex.min.js").is_file():
        return False
    shutil.copytree(katex, out, ignore=shutil.ignore_patterns(*SKIPPED_NAMES))
    return True


# ----------------------------------------------------------------------------- the student copy


def site_notebooks(course: Path, folder: Path) -> int:
    """The notebooks the site's lesson pages link, in ``folder`` (``docs/notebooks/``).

    Built from the committed stubs (``released_lessons``) at every docs build; in a
    student copy (no ``solutions/``) the ones its release built are kept as they are, since its
    lessons are the student's work. Returns how many there are.

    Raises:
        ReleaseError: the stubs cannot be taken (a filled-in lesson outside git).
    """
    order = facts.lessons(course)
    names = [notebook_name(i, lesson) for i, lesson in enumerate(order, start=1)]
    if not (course / "solutions").is_dir() and all((folder / n).is_file() for n in names):
        return len(names)
    lessons = released_lessons(course, log=lambda line: None)
    stubs = {Path(name).stem: text.decode("utf-8") for name, text in lessons.items()}
    return len(build_notebooks(course, folder, stubs))


def _release_notebooks(course: Path, out_dir: Path, lessons: dict[str, bytes], docs: bool) -> Path:
    """The lessons as notebooks, from the released stubs: ``notebooks/`` (the student's; its
    path is returned) and, with the docs, ``docs/notebooks/`` (what the lesson pages link)."""
    stubs = {Path(name).stem: text.decode("utf-8") for name, text in lessons.items()}
    written = build_notebooks(course, out_dir / NOTEBOOKS, stubs)
    if docs and (out_dir / "docs").is_dir():
        (out_dir / "docs" / NOTEBOOKS).mkdir(parents=True, exist_ok=True)
        for path in written:
            shutil.copyfile(path, out_dir / "docs" / NOTEBOOKS / path.name)
    return out_dir / NOTEBOOKS


def _ignore_for(course: Path) -> Callable[[str, list[str]], set[str]]:
    skipped = shutil.ignore_patterns(*SKIPPED_NAMES)
    generated = {(course / "docs" / name).resolve() for name in GENERATED_DOCS}

    def ignore(folder: str, names: list[str]) -> set[str]:
        left_out = set(skipped(folder, names))
        left_out |= {name for name in names if (Path(folder) / name).resolve() in generated}
        return left_out

    return ignore


def _write_own_files(course: Path, out_dir: Path) -> None:
    """The copy's own README and root conftest.py, its pyproject.toml and .gitignore adapted."""
    for own in (RELEASE_README, RELEASE_CONFTEST):
        if (course / own).is_file():
            shutil.copyfile(course / own, out_dir / own.name)
    for name, adapt in (("pyproject.toml", release_pyproject), (".gitignore", release_gitignore)):
        if (out_dir / name).is_file():
            (out_dir / name).write_text(adapt((out_dir / name).read_text("utf-8")), "utf-8")


def make_student_release(
    course: Path,
    out_dir: Path,
    *,
    overwrite: bool = False,
    github_classroom: bool = False,
    docs: bool = True,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Copies the course for students, without ``solutions/``; returns the top-level paths.

    Args:
        course: the instructors' course folder (with ``solutions/``).
        out_dir: where the student copy goes; must not exist or be empty (unless ``overwrite``).
        overwrite: replace an existing, non-empty ``out_dir``.
        github_classroom: also write the GitHub Classroom workflow into ``out_dir/.github``.
        docs: ship the docs with prebuilt figures and KaTeX (``False``: no ``docs/`` at all,
            as the Gradescope zip, which only grades).
        log: where notes go (uncommitted lesson edits left out, KaTeX not found).

    Raises:
        ReleaseError: if ``out_dir`` is in the way, lies inside the course, if a lesson is not a
            pristine stub (naming it), or if a check (or a module a check imports) imports
            ``solutions`` — the copy would not grade.
    """
    course, out_dir = course.resolve(), out_dir.resolve()
    if out_dir == course or course in out_dir.parents:
        raise ReleaseError(f"{out_dir} is inside the course folder {course}; choose another place")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ReleaseError(f"{out_dir} exists and is not empty (pass --force to replace it)")
    roots = sorted((course / "checks").glob("*.py"))
    leaks = modules_needing_solutions(course, roots)
    if leaks:
        raise ReleaseError(
            "the checks would need solutions/, which students do not get:\n  " + "\n  ".join(leaks)
        )
    lessons = released_lessons(course, log)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    ignore = _ignore_for(course)
    copied = []
    for name in RELEASED:
        source = course / name
        if name == "docs" and not docs:
            continue
        if name == "lessons":
            (out_dir / name).mkdir()
            for file_name, text in lessons.items():
                (out_dir / name / file_name).write_bytes(text)
        elif source.is_dir():
            shutil.copytree(source, out_dir / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, out_dir / name)
        else:
            continue
        copied.append(out_dir / name)
    _write_own_files(course, out_dir)
    copied.append(_release_notebooks(course, out_dir, lessons, docs))
    if docs and (out_dir / "docs").is_dir():
        draw_release_figures(course, out_dir / "docs" / "figures")
        if not copy_katex(course, out_dir / "docs" / "assets" / "katex"):
            log(
                "note: KaTeX is not in docs/assets/katex/ and could not be fetched; the copy's"
                " first docs build fetches it (npm pack katex)"
            )
    if github_classroom:
        for relative, text in github_classroom_files(course).items():
            path = out_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        copied.append(out_dir / ".github")
    return copied
