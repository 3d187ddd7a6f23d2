"""The checks are the product, so they are tested: on solutions, on stubs, on known mistakes.

Adding a lesson means adding ``lessons/X.py``, ``solutions/X.py``, ``checks/test_X.py``,
``bam/hints/X.toml`` and ``tests/mistakes/X/*.py``; this file finds them all.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import tomllib

import pytest

from tests.grading import REPO_ROOT, lessons_with_checks, mistake_files, run_checks

LESSONS = lessons_with_checks()


def checks_path(lesson: str) -> str:
    return str(REPO_ROOT / "checks" / f"test_{lesson}.py")


def exercises_of(lesson: str) -> list[str]:
    return list(importlib.import_module(f"solutions.{lesson}").__all__)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_check_passes_on_solutions(lesson):
    exit_code, verdicts = run_checks(checks_path(lesson), "--solutions")
    failing = [f"{v.nodeid}: {v.outcome}\n{v.message}" for v in verdicts if v.outcome != "passed"]
    assert not failing, "checks that fail on solutions/:\n" + "\n\n".join(failing)
    assert exit_code == 0 and verdicts, f"pytest exit code {exit_code}, {len(verdicts)} checks ran"
    graded = {verdict.exercise for verdict in verdicts}
    missing = [name for name in exercises_of(lesson) if f"{lesson}.{name}" not in graded]
    assert not missing, f"exercises of {lesson} without any check: {missing}"
    unknown = sorted(graded - {f"{lesson}.{name}" for name in exercises_of(lesson)})
    assert not unknown, f"checks in checks/test_{lesson}.py grade names not in __all__: {unknown}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_check_fails_on_untouched_stubs(lesson):
    exit_code, verdicts = run_checks(checks_path(lesson))
    assert verdicts, f"no checks ran for {lesson}"
    passing = [v.nodeid for v in verdicts if v.outcome == "passed"]
    assert not passing, (
        f"checks that PASS on the untouched stubs (a check that cannot fail): {passing}"
    )
    other = [
        f"{v.nodeid}: {v.outcome}\n{v.message}" for v in verdicts if v.outcome != "not implemented"
    ]
    assert not other, "stubs should give 'not implemented yet', got:\n" + "\n\n".join(other)
    assert exit_code == 1


@pytest.mark.parametrize(
    "path", mistake_files(), ids=lambda path: f"{path.parent.name}/{path.stem}"
)
def test_known_mistake_is_rejected(path):
    source = path.read_text(encoding="utf-8")
    assert ast.get_docstring(ast.parse(source)), f"{path}: say the mistake in a module docstring"
    lesson = path.parent.name
    exit_code, verdicts = run_checks(
        checks_path(lesson),
        "--solutions",
        "--mutant",
        str(path),
        "-x",
        "--hypothesis-profile=mistakes",
    )
    failed = [v for v in verdicts if v.outcome == "failed"]
    broken = [
        f"{v.nodeid}: {v.outcome}\n{v.message}"
        for v in verdicts
        if v.outcome in {"error", "not implemented"}
    ]
    assert not broken, "the checks broke instead of failing:\n" + "\n".join(broken)
    assert failed, f"no check of {lesson} rejects the mistake in {path.name}"
    assert exit_code == 1
    print(f"{path.parent.name}/{path.stem}: caught by {failed[0].nodeid.split('::')[-1]}")


@pytest.mark.parametrize("lesson", LESSONS)
def test_stubs_share_the_api_of_solutions(lesson):
    stub = importlib.import_module(f"lessons.{lesson}")
    solution = importlib.import_module(f"solutions.{lesson}")
    assert stub.__doc__ == solution.__doc__, (
        f"lessons/{lesson}.py and solutions/{lesson}.py module docstrings differ"
    )
    assert sorted(stub.__all__) == sorted(solution.__all__), (
        "__all__ differs between stub and solution"
    )
    for name in solution.__all__:
        ours, theirs = getattr(stub, name), getattr(solution, name)
        if not callable(theirs):
            continue
        assert inspect.getdoc(ours) == inspect.getdoc(theirs), f"{lesson}.{name}: docstrings differ"
        assert inspect.getdoc(theirs), f"{lesson}.{name} has no docstring"
        assert str(inspect.signature(ours)) == str(inspect.signature(theirs)), (
            f"{lesson}.{name}: signatures differ"
        )


@pytest.mark.parametrize("lesson", LESSONS)
def test_stub_bodies_are_a_todo_and_a_raise(lesson):
    tree = ast.parse((REPO_ROOT / "lessons" / f"{lesson}.py").read_text(encoding="utf-8"))
    source_lines = (REPO_ROOT / "lessons" / f"{lesson}.py").read_text(encoding="utf-8").splitlines()
    exercises = set(exercises_of(lesson))
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    for node in functions:
        owner = node.name
        if owner not in exercises and not any(
            isinstance(parent, ast.ClassDef) and parent.name in exercises and node in parent.body
            for parent in ast.walk(tree)
        ):
            continue
        raises = [n for n in ast.walk(node) if isinstance(n, ast.Raise)]
        if not raises:
            continue  # e.g. a given helper method of a stub class
        body_text = "\n".join(source_lines[node.lineno - 1 : node.end_lineno])
        assert "TODO" in body_text, (
            f"lessons/{lesson}.py::{node.name}: the stub needs a '# TODO:' hint"
        )


@pytest.mark.parametrize("lesson", LESSONS)
def test_hints_cover_every_exercise(lesson):
    path = REPO_ROOT / "bam" / "hints" / f"{lesson}.toml"
    assert path.exists(), f"{path} is missing"
    hints = tomllib.loads(path.read_text(encoding="utf-8"))
    for name in exercises_of(lesson):
        levels = hints.get(name, {}).get("hints", [])
        assert len(levels) >= 2, f"{path.name}: [{name}] needs at least two progressive hints"
        assert all(isinstance(level, str) and level.strip() for level in levels)
