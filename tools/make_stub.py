"""Writes a lesson stub from its solution: same module docstring, imports, signatures, docstrings.

Usage: ``python tools/make_stub.py LESSON TODO_FILE`` where TODO_FILE is a JSON object mapping
each exercise name to its ``# TODO`` text. Every exercise body becomes the TODO comment plus
``raise NotImplementedError``. A maintainer tool: run it once, then edit the stub by hand.
"""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path


def make_stub(lesson: str, todos: dict[str, str]) -> str:
    source = Path("solutions", f"{lesson}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    replacements: list[tuple[int, int, list[str]]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in todos:
            body_start = node.body[1].lineno if len(node.body) > 1 else node.body[0].end_lineno + 1
            indent = " " * (node.col_offset + 4)
            todo = textwrap.wrap(todos[node.name], 92 - len(indent))
            new = [f"{indent}# TODO: {todo[0]}", *(f"{indent}#   {line}" for line in todo[1:])]
            new.append(f"{indent}raise NotImplementedError")
            replacements.append((body_start - 1, node.end_lineno, new))
    for start, end, new in sorted(replacements, reverse=True):
        lines[start:end] = new
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    lesson, todo_file = sys.argv[1:3]
    todos = json.loads(Path(todo_file).read_text(encoding="utf-8"))
    Path("lessons", f"{lesson}.py").write_text(make_stub(lesson, todos), encoding="utf-8")
