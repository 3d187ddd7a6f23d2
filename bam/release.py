"""Releasing the course: a student copy without ``solutions/``, and the graders' files.

* ``make_student_release(course, out_dir)`` copies what a student needs — ``lessons/`` (the
  stubs), ``checks/``, ``bam/``, ``data/``, the docs sources and the project files — and leaves
  out ``solutions/``, ``tests/`` (whose known mistakes are built on the solutions) and the
  instructors' ``grading/``. It then verifies that nothing the checks import needs
  ``solutions``.
* ``github_classroom_files(course)`` writes a GitHub Classroom workflow with one graded step per
  lesson (``pytest checks --exercise <lesson>``), worth that lesson's points.
* The Gradescope autograder zip is built by ``bam.gradescope``.

Used by ``bam release student`` (``bam/commands/release.py``).
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

# what a student copy holds, relative to the course folder (missing ones are skipped)
RELEASED = (
    "README.md",
    "LICENSE",
    "pyproject.toml",
    "mkdocs.yml",
    ".gitignore",
    "bam",
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
WITHHELD = ("solutions", "tests", "grading", ".notes", ".git", "tools", ".ci")


class ReleaseError(RuntimeError):
    """The release cannot be built (or would leak the solutions); the message says why."""


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
            if name.split(".", 1)[0] not in {"bam", "checks", "lessons"}:
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
    for path in sorted((course / "checks").glob("test_*.py")):
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
    tree = ast.parse((course / "lessons" / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        target = getattr(node, "target", None)
        if isinstance(node, ast.AnnAssign | ast.Assign) and (
            (isinstance(target, ast.Name) and target.id == "COURSE_ORDER")
            or any(getattr(t, "id", None) == "COURSE_ORDER" for t in getattr(node, "targets", []))
        ):
            return list(ast.literal_eval(node.value))
    raise ReleaseError(f"{course}/lessons/__init__.py has no COURSE_ORDER")


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


def github_classroom_files(course: Path, timeout_minutes: int = 15) -> dict[str, str]:
    """The files GitHub Classroom needs in the students' repository, by relative path.

    ``.github/workflows/classroom.yml`` is the workflow GitHub Classroom runs on every push (one
    ``autograding-command-grader`` step per lesson, then the reporter that sends the points to
    Classroom); ``.github/classroom/autograding.json`` lists the same tests in the format of
    Classroom's "add autograding tests" page (and of the older ``education/autograding`` action).
    """
    lessons = lesson_points(course)
    if not lessons:
        raise ReleaseError(f"no checks with @exercise(...) under {course / 'checks'}")
    order = _course_order(course)
    tests = [
        {
            "name": f"Lesson {order.index(lesson) + 1 if lesson in order else '?'}: {lesson}",
            "setup": "",
            "run": f"python -m pytest checks --exercise {lesson} -q --tb=short",
            "input": "",
            "output": "",
            "comparison": "included",
            "timeout": timeout_minutes,
            "points": points,
        }
        for lesson, points in lessons
    ]
    autograding = json.dumps({"tests": tests}, indent=2) + "\n"
    lines = [
        "# Generated by `bam release student --github-classroom`: one graded step per lesson,",
        "# worth the points of that lesson's checks. Regenerate it after changing the checks.",
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
    ]
    for test, (lesson, points) in zip(tests, lessons, strict=True):
        lines += [
            f'      - name: "{test["name"]} ({points} points)"',
            f"        id: lesson-{lesson}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: {lesson}",
            f"          command: {test['run']}",
            f"          timeout: {timeout_minutes}",
            f"          max-score: {points}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        *(
            f'          LESSON-{lesson.upper()}_RESULTS: "${{{{steps.lesson-{lesson}.outputs.result}}}}"'
            for lesson, _ in lessons
        ),
        "        with:",
        f"          runners: {','.join(f'lesson-{lesson}' for lesson, _ in lessons)}",
    ]
    workflow = "\n".join(lines) + "\n"
    return {
        ".github/workflows/classroom.yml": workflow,
        ".github/classroom/autograding.json": autograding,
    }


# ----------------------------------------------------------------------------- the student copy


def make_student_release(
    course: Path, out_dir: Path, *, overwrite: bool = False, github_classroom: bool = False
) -> list[Path]:
    """Copies the course for students, without ``solutions/``; returns the top-level paths.

    Args:
        course: the instructors' course folder (with ``solutions/``).
        out_dir: where the student copy goes; must not exist or be empty (unless ``overwrite``).
        overwrite: replace an existing, non-empty ``out_dir``.
        github_classroom: also write the GitHub Classroom workflow into ``out_dir/.github``.

    Raises:
        ReleaseError: if ``out_dir`` is in the way, lies inside the course, or if a check (or a
            module a check imports) imports ``solutions`` — the copy would not grade.
    """
    course, out_dir = course.resolve(), out_dir.resolve()
    if out_dir == course or course in out_dir.parents:
        raise ReleaseError(f"{out_dir} is inside the course folder {course}; choose another place")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise ReleaseError(f"{out_dir} exists and is not empty (pass --force to replace it)")
        shutil.rmtree(out_dir)
    roots = sorted((course / "checks").glob("*.py"))
    leaks = modules_needing_solutions(course, roots)
    if leaks:
        raise ReleaseError(
            "the checks would need solutions/, which students do not get:\n  " + "\n  ".join(leaks)
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(*SKIPPED_NAMES)
    copied = []
    for name in RELEASED:
        source = course / name
        if source.is_dir():
            shutil.copytree(source, out_dir / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, out_dir / name)
        else:
            continue
        copied.append(out_dir / name)
    if github_classroom:
        for relative, text in github_classroom_files(course).items():
            path = out_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        copied.append(out_dir / ".github")
    return copied
