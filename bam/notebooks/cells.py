"""From notebook cells to a lesson module, as text: nothing here runs a line of the cells.

A lesson notebook holds one code cell per exercise. Grading a notebook means writing those
cells into the lesson module (``lessons/<lesson>.py``) and grading the module as any ``.py``
submission; the Gradescope grader does it as root, before the checks start, so the cells are
only ever parsed (``json``, ``ast``), never imported or executed here.

What counts, cell by cell, so that a broken scratch cell never blocks the exercises that work:

* a code cell that does not parse is skipped (and named in the notes);
* an exercise is defined by the **last** code cell, top to bottom, that defines its name at its
  top level (``def``, ``class`` or an assignment, for a constant like ``VGG16_CONFIG``), as
  running the notebook top to bottom would leave it;
* of that cell only definitions are kept: ``import``, ``def``, ``class`` and assignments of
  names that call nothing (constants). A call to try the function out (``box_iou(a, b)``,
  ``out = box_iou(a, b)``, a ``print``, a loop) is dropped, so it cannot fail the lesson's
  import; helpers the exercise needs belong in its cell.

``merge`` then replaces each chosen exercise's definition in a template module (the stub, or
the student's current file) by the cell's definitions, and removes the template's own
definitions of any name the cell defines (the cell owns them).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

NOTEBOOK_LIMIT = 20 << 20  # bytes: a bigger "notebook" is not read (a lesson's is ~50 kB)
PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


class NotebookError(ValueError):
    """The file is not a readable Jupyter notebook (format 4); the message says why."""


def code_cells(text: str | bytes) -> list[str]:
    """The sources of a notebook's code cells, in order (nbformat 4 JSON, read as data).

    Raises:
        NotebookError: not JSON, not a notebook, or over ``NOTEBOOK_LIMIT``.
    """
    if len(text) > NOTEBOOK_LIMIT:
        raise NotebookError(f"over {NOTEBOOK_LIMIT >> 20} MB: not read")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise NotebookError(f"not JSON ({str(error)[:120]})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("no list of cells (a Jupyter notebook of format 4 has one)")
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(part for part in source if isinstance(part, str))
        if isinstance(source, str):
            sources.append(source)
    return sources


@dataclass
class Cell:
    """The definitions kept from one code cell."""

    index: int  # its place among the cells it came from
    text: str  # the kept statements' source, blank-line separated
    names: list[str]  # every name it defines, in order
    dropped: list[str] = field(default_factory=list)  # first line of each statement left out
    nodes: dict[str, ast.stmt] = field(default_factory=dict)  # name -> its definition


def _assigned_names(node: ast.stmt) -> list[str] | None:
    """The names an assignment of plain names sets, or None for any other statement."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    else:
        return None
    if not all(isinstance(target, ast.Name) for target in targets):
        return None
    return [target.id for target in targets]  # type: ignore[attr-defined]


def _kept_names(node: ast.stmt) -> list[str] | None:
    """The names a kept statement defines ([] for an import), None if it is not kept."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return None if getattr(node, "module", None) == "__future__" else []
    names = _assigned_names(node)
    if names is None or any(isinstance(part, ast.Call) for part in ast.walk(node)):
        return None
    return names


def statement_lines(node: ast.stmt) -> tuple[int, int]:
    """First and last line (1-based, inclusive) of a statement, decorators included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first, node.end_lineno or node.lineno


def parse_cell(source: str, index: int = 0) -> Cell | None:
    """The definitions of one cell, or None when it does not parse."""
    try:
        tree = ast.parse(source)
    except PARSE_ERRORS:
        return None
    lines = source.splitlines()
    kept, names, dropped, nodes = [], [], [], {}
    for node in tree.body:
        defined = _kept_names(node)
        first, last = statement_lines(node)
        if defined is None:
            dropped.append(lines[first - 1].strip()[:80] if first <= len(lines) else "?")
            continue
        kept.append("\n".join(lines[first - 1 : last]))
        for name in defined:
            names.append(name)
            nodes[name] = node
    return Cell(index, "\n\n\n".join(kept), names, dropped, nodes)


@dataclass
class Chosen:
    """For each exercise, the cell that defines it last; and what was left out, in words."""

    cells: dict[str, Cell]
    notes: list[str]


def choose(sources: Iterable[str], exercises: Iterable[str], where: str = "cell") -> Chosen:
    """The last cell defining each exercise (see the module docstring).

    Args:
        sources: the code cells' sources, in order (top to bottom, or execution order).
        exercises: the lesson's exercise names (its ``__all__``).
        where: how the notes name a cell ("cell" gives "cell 4").
    """
    wanted = set(exercises)
    cells: dict[str, Cell] = {}
    notes = []
    for index, source in enumerate(sources, start=1):
        cell = parse_cell(source, index)
        if cell is None:
            if any(name in source for name in wanted):
                notes.append(f"{where} {index} does not parse: skipped")
            continue
        for name in cell.names:
            if name in wanted:
                cells[name] = cell
    for cell in {id(cell): cell for cell in cells.values()}.values():
        if cell.dropped:
            left_out = "; ".join(cell.dropped[:3]) + (" ..." if len(cell.dropped) > 3 else "")
            notes.append(f"{where} {cell.index}: kept its definitions only, not: {left_out}")
    return Chosen(cells, notes)


def is_stub(node: ast.stmt | None) -> bool:
    """Still an exercise to do: raises ``NotImplementedError`` (in a method, for a class) or is a
    constant set to ``NotImplemented`` (``bam.course``'s rule)."""
    from bam.implementations import is_stub_node

    if isinstance(node, ast.Assign | ast.AnnAssign):
        return isinstance(node.value, ast.Name) and node.value.id == "NotImplemented"
    return node is None or is_stub_node(node)


def _untouched_body(body: list[ast.stmt]) -> bool:
    """A docstring, perhaps ``super().__init__()``, then ``raise NotImplementedError``."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body or not isinstance(body[-1], ast.Raise) or body[-1].exc is None:
        return False
    if "NotImplementedError" not in ast.unparse(body[-1].exc):
        return False
    return all(ast.unparse(statement) == "super().__init__()" for statement in body[:-1])


def untouched(node: ast.stmt | None) -> bool:
    """As the stubs are handed out, read from the code alone: a function that only raises
    ``NotImplementedError``; a class whose methods that raise it only raise it (those that do
    not are given, as ``YOLO.__init__``), one at least; a constant set to ``NotImplemented``.
    (A class whose given method was changed, or whose ``__init__`` is done while ``forward`` is
    not, counts as untouched: where the stub is at hand, ``same`` as it is the exact test.)"""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _untouched_body(node.body)
    if isinstance(node, ast.ClassDef):
        methods = [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        raising = [
            m
            for m in methods
            if is_stub(ast.ClassDef(name="", body=[m], bases=[], keywords=[], decorator_list=[]))
        ]
        return bool(raising) and all(_untouched_body(method.body) for method in raising)
    return node is None or is_stub(node)


def has_work(source: str, exercises: Iterable[str]) -> bool:
    """Whether a lesson module has an exercise that is not as handed out (see ``untouched``)."""
    try:
        defined = top_level(ast.parse(source))
    except PARSE_ERRORS:
        return True
    return any(not untouched(_definition(defined, name)) for name in exercises)


def same(a: ast.stmt | None, b: ast.stmt | None) -> bool:
    """Whether two definitions are the same code (comments and layout aside)."""
    if a is None or b is None:
        return a is b
    return ast.dump(a) == ast.dump(b)


def top_level(tree: ast.Module) -> dict[str, list[ast.stmt]]:
    """Every top-level statement defining each name (a name defined twice has two)."""
    found: dict[str, list[ast.stmt]] = {}
    for node in tree.body:
        names = _kept_names(node) or _assigned_names(node) or []
        for name in names:
            found.setdefault(name, []).append(node)
    return found


def merge(template: str, replacements: dict[str, Cell]) -> str:
    """``template`` with each exercise of ``replacements`` defined by its cell instead.

    The cell's kept text goes where the template defined the exercise (at the end when it did
    not); the template's other definitions of names the cell defines are removed. A cell that
    defines several exercises is written once.

    Raises:
        SyntaxError: if ``template`` does not parse.
    """
    tree = ast.parse(template)
    lines = template.splitlines()
    defined = top_level(tree)
    edits: dict[int, tuple[int, str]] = {}  # first line -> (last line, replacement)
    appended = []
    written: set[int] = set()
    for name, cell in replacements.items():
        if id(cell) in written:
            continue
        written.add(id(cell))
        place = defined.get(name, [])
        for other in cell.names:
            for node in defined.get(other, []):
                first, last = statement_lines(node)
                edits.setdefault(first, (last, ""))
        if place:
            first, last = statement_lines(place[-1])
            edits[first] = (last, cell.text)
        else:
            appended.append(cell.text)
    for first in sorted(edits, reverse=True):
        last, text = edits[first]
        lines[first - 1 : last] = text.splitlines()
    merged = "\n".join(lines).rstrip("\n") + "\n"
    for text in appended:
        merged += "\n\n" + text + "\n"
    return merged


def fingerprint(text: str) -> str:
    """A short hash of a module's text (to tell whether a file is the one last written)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _definition(defined: dict[str, list[ast.stmt]], name: str) -> ast.stmt | None:
    nodes = defined.get(name)
    return nodes[-1] if nodes else None


def notebook_first(template: str, chosen: Chosen, names: Iterable[str]) -> tuple[str, list[str]]:
    """``template`` with the notebook's definitions of ``names`` (what ``check()`` writes).

    The notebook wins, except where its cell still raises ``NotImplementedError`` and the
    template's definition does not: then the template's finished one is kept (a notebook opened
    afresh never undoes work done in the ``.py`` file).

    Returns:
        The module's text and notes, in words, of what was kept from where.
    """
    defined = top_level(ast.parse(template))
    replacements, notes = {}, []
    for name in names:
        cell = chosen.cells.get(name)
        if cell is None:
            continue
        mine, theirs = cell.nodes[name], _definition(defined, name)
        if is_stub(mine) and not is_stub(theirs):
            notes.append(f"{name}: its cell is still a stub, the file's finished one is kept")
        else:
            replacements[name] = cell
    return merge(template, replacements), notes


def module_first(
    module: str | None,
    stub: str,
    chosen: Chosen,
    names: Iterable[str],
    *,
    stub_is_pristine: bool = True,
) -> tuple[str, list[str], list[str]]:
    """The graded module of a submission with a notebook (and perhaps a ``.py``) for a lesson.

    Exercise by exercise: the ``.py`` file's definition when it is no longer as handed out
    (``untouched``: the student worked there, or the notebook's ``check()`` wrote it), else the
    notebook's when that one is worked on, else the stub's.

    Args:
        module: the submitted ``lessons/<lesson>.py`` text, or None (then the stub is used; also
            when it does not parse).
        stub: the course's stub of the lesson.
        chosen: the notebook's cells (``choose``).
        names: the lesson's exercises.
        stub_is_pristine: ``stub`` is the lesson as handed out, so "worked on" means "not
            ``same`` as the stub's"; else (a student's own repository, whose stub is not at
            hand) it means "not ``untouched``".

    Returns:
        The module's text, the exercises taken from the notebook, and notes.
    """
    pristine = top_level(ast.parse(stub)) if stub_is_pristine else {}

    def worked_on(node: ast.stmt | None, name: str) -> bool:
        if name in pristine:
            return not same(node, _definition(pristine, name))
        return not untouched(node)

    notes = []
    base = stub
    if module is not None:
        try:
            ast.parse(module)
            base = module
        except PARSE_ERRORS:
            notes.append("the .py file does not parse: the notebook's exercises go into the stub")
    defined = top_level(ast.parse(base))
    replacements = {}
    for name in names:
        cell = chosen.cells.get(name)
        if cell is None or worked_on(_definition(defined, name), name):
            continue
        if worked_on(cell.nodes[name], name):
            replacements[name] = cell
    return merge(base, replacements), list(replacements), notes
