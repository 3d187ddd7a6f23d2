"""The code base stays ruff-clean (lint and format), as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.grading import REPO_ROOT


@pytest.mark.parametrize(
    "command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"]
)
def test_ruff(command):
    ruff = shutil.which("ruff")
    assert ruff, "ruff is not installed: pip install -e '.[dev]'"
    result = subprocess.run(
        [ruff, *command], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        f"ruff {' '.join(command)} found problems:\n{result.stdout}{result.stderr}"
    )


MAX_FUNCTION_LINES = 80


def long_functions(folder, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``"path:line name (N lines)"`` for every function under ``folder`` longer than ``limit``
    lines (decorators and docstring included, nested functions counted in their parent too)."""
    import ast

    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = node.end_lineno - first + 1
                if length > limit:
                    where = path.relative_to(folder.parent).as_posix()
                    found.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_in_bam_is_longer_than_80_lines():
    """Long functions hide their steps: split them into named pieces."""
    assert long_functions(REPO_ROOT / "bam") == []


def test_no_function_in_checks_is_longer_than_80_lines():
    """The checks and the grader's sandbox (checks/worker/) read in named steps too."""
    assert long_functions(REPO_ROOT / "checks") == []


def test_the_grading_worker_never_imports_the_harness():
    """checks/worker/ imports nothing of checks.harness (or conftest), not even inside a
    function: the harness sits above the worker, and checks/errors.py below both imports no
    course code at all."""
    from bam.release.student import imported_modules

    above = ("checks.harness", "checks.conftest")
    for path in sorted((REPO_ROOT / "checks" / "worker").glob("*.py")):
        reached = {n for n in imported_modules(path) if n.startswith(above)}
        assert not reached, f"checks/worker/{path.name} imports {sorted(reached)}"
    errors = imported_modules(REPO_ROOT / "checks" / "errors.py")
    assert not {n for n in errors if n.split(".")[0] in {"bam", "checks", "lessons", "solutions"}}


def test_the_length_rule_finds_a_long_function(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}", "utf-8")
    found = long_functions(tmp_path)
    assert [entry.split(" ", 1)[1] for entry in found] == [f"long ({MAX_FUNCTION_LINES + 1} lines)"]


# ----------------------------------------------------------------------------- given/


def test_given_is_pure():
    """given/ (what the lessons call) imports no course code: not bam, lessons, solutions, checks."""
    from bam.release.student import imported_modules

    course = {"bam", "lessons", "solutions", "checks"}
    for path in sorted((REPO_ROOT / "given").glob("*.py")):
        reached = {name for name in imported_modules(path) if name.split(".")[0] in course}
        assert not reached, f"given/{path.name} imports {sorted(reached)}"


def test_the_lessons_import_given_code_never_bam():
    """A lesson (or its solution) imports the helpers it calls from given/ directly: nothing from
    bam (the pipelines, the CLI, the plots), and no re-export module of given/ is left in bam."""
    from bam.release.student import imported_modules

    for folder in ("lessons", "solutions"):
        for path in sorted((REPO_ROOT / folder).glob("*.py")):
            reached = {n for n in imported_modules(path) if n.split(".")[0] == "bam"}
            assert not reached, f"{folder}/{path.name} imports {sorted(reached)} from bam"
    assert not (REPO_ROOT / "bam" / "detection.py").exists()
    assert not (REPO_ROOT / "bam" / "rpn_layout.py").exists()


# ----------------------------------------------------------------------------- the README's layout


def test_the_readme_layout_names_every_package_of_bam_and_nothing_gone():
    """README.md's Layout section has a line for each folder of bam/, and every bam/ path it
    names exists (a moved package shows up here, not in a newcomer's first hour)."""
    import re

    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    layout = readme[readme.index("## Layout") :]
    named = set(re.findall(r"^(bam/[\w./]*)", layout, flags=re.MULTILINE))
    folders = {
        f"bam/{path.name}/"
        for path in (REPO_ROOT / "bam").iterdir()
        if path.is_dir() and path.name != "__pycache__"
    }
    assert folders <= named, f"not in the README's layout: {sorted(folders - named)}"
    gone = [path for path in named if not (REPO_ROOT / path).exists()]
    assert not gone, f"the README's layout names what is not there: {gone}"


# ----------------------------------------------------------------------------- the layers of bam

MAX_COMMAND_LINES = 150


def test_commands_are_thin_and_never_import_each_other():
    """A command parses its options, calls the library and prints: at most 150 lines, and what
    two commands share lives in the library, not in one of them."""
    from bam.release.student import imported_modules

    for path in sorted((REPO_ROOT / "bam" / "commands").glob("*.py")):
        lines = len(path.read_text("utf-8").splitlines())
        assert lines <= MAX_COMMAND_LINES, f"bam/commands/{path.name} has {lines} lines"
        reached = {n for n in imported_modules(path) if n.startswith("bam.commands")}
        assert not reached, f"bam/commands/{path.name} imports {sorted(reached)}"


def test_plots_never_import_a_pipeline_or_a_command():
    """The figures take configs, run folders and arrays; the pipelines draw with them."""
    from bam.release.student import imported_modules

    for path in sorted((REPO_ROOT / "bam" / "plots").glob("*.py")):
        reached = {
            n for n in imported_modules(path) if n.startswith(("bam.pipelines", "bam.commands"))
        }
        assert not reached, f"bam/plots/{path.name} imports {sorted(reached)}"
