"""The stubs a release hands out: the committed ``lessons/``, each checked to be a pristine stub.

``released_lessons(course)`` is what both the student copy (``bam.release.student``) and the
notebooks (``bam.notebooks.build``) take the lessons from; ``stub_problems(source, filename)``
says what in a lesson module is filled in.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Callable
from pathlib import Path

from bam import course as facts


class ReleaseError(RuntimeError):
    """The release cannot be built (or would leak the solutions); the message says why."""


def _is_stub_body(body: list[ast.stmt]) -> bool:
    """A docstring (optional), then only ``raise NotImplementedError``."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def stub_problems(source: str, filename: str) -> list[str]:
    """What makes ``source`` (a lesson module) not a pristine stub; empty when it is one.

    Every name of its ``__all__`` must still be a stub: a function whose body is only
    ``raise NotImplementedError`` (after its docstring), a class with at least one such method,
    or a constant set to ``NotImplemented``. Given helpers outside ``__all__`` are not looked at.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        return [f"{filename} does not parse: {error.msg} (line {error.lineno})"]
    try:
        exported = facts.exported(source, filename)
    except facts.CourseError:  # no __all__: no exercise to hand out
        exported = ()
    problems = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in exported:
            if not _is_stub_body(node.body):
                problems.append(f"{filename}: `{node.name}` is filled in")
        elif isinstance(node, ast.ClassDef) and node.name in exported:
            methods = [
                n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            if not any(_is_stub_body(method.body) for method in methods):
                problems.append(f"{filename}: class `{node.name}` has no method left to write")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name) and t.id in exported]
            value = node.value
            if names and not (isinstance(value, ast.Name) and value.id == "NotImplemented"):
                problems.append(
                    f"{filename}: `{names[0]}` is filled in (the stub has NotImplemented)"
                )
    return problems


def _git(course: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(course), *args], capture_output=True, check=False)


def released_lessons(course: Path, log: Callable[[str], None] = print) -> dict[str, bytes]:
    """The ``lessons/*.py`` files a release ships, by file name: the committed stubs.

    In a git checkout each file is ``git show HEAD:lessons/<name>`` (uncommitted edits are left
    out, with a note through ``log``); elsewhere it is the working tree's file.

    Raises:
        ReleaseError: naming the file, when a lesson is not a pristine stub, or when a lesson
            module of the working tree is not committed at all.
    """
    folder = course / "lessons"
    working = {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}
    inside_git = _git(course, "rev-parse", "--is-inside-work-tree").stdout.strip() == b"true"
    if inside_git:
        listed = _git(course, "ls-tree", "--name-only", "HEAD", "./lessons/")
        committed_names = sorted(
            Path(line).name
            for line in listed.stdout.decode("utf-8").splitlines()
            if line.endswith(".py")
        )
        missing = sorted(set(working) - set(committed_names))
        if missing:
            raise ReleaseError(
                f"lessons/{missing[0]} is not committed: the release takes the stubs from the"
                " committed tree (HEAD); commit it as a stub first"
            )
        files = {}
        for name in committed_names:
            shown = _git(course, "show", f"HEAD:./lessons/{name}")
            if shown.returncode != 0:
                raise ReleaseError(f"git show HEAD:lessons/{name} failed: {shown.stderr.decode()}")
            files[name] = shown.stdout
            if working.get(name) != shown.stdout:
                log(
                    f"note: lessons/{name} has uncommitted changes; the release takes the"
                    " committed stub (HEAD)"
                )
        source = "committed"
    else:
        files, source = working, "working tree"
    problems = [
        problem
        for name, text in files.items()
        if name != "__init__.py"
        for problem in stub_problems(text.decode("utf-8"), f"lessons/{name}")
    ]
    if problems:
        raise ReleaseError(
            f"the {source} lessons are not all pristine stubs, so the release would hand out"
            " answers:\n  "
            + "\n  ".join(problems)
            + "\n(restore them with `git checkout -- lessons/` or commit the stubs, then release)"
        )
    return files
