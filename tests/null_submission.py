"""Null submissions: a lesson file in which every exercise implements nothing.

Each exercise returns output of the right structure and shape that says nothing: zeros, a
constant, or its own input handed back unchanged (where an input has the output's shape). The
file is self-contained (the reference's source is inside it, renamed, to learn the shapes
from), so it grades where ``solutions/`` does not exist, as a student's file is graded. Used by
``tests/test_null_submissions.py``: such a file must score 0 in every lesson.
"""

from __future__ import annotations

import ast
from pathlib import Path

MODES = ("zeros", "ones", "inputs")

NULL_HELPERS = '''

# ---------------------------------------------------------------- the null submission
import copy as _copy
import functools as _functools

import torch as _torch

_NULL_MODE = {mode!r}


def _null_leaf(value, inputs):
    if isinstance(value, _torch.Tensor):
        if _NULL_MODE == "inputs":
            for given in inputs:
                if (
                    isinstance(given, _torch.Tensor)
                    and given.shape == value.shape
                    and given.dtype == value.dtype
                ):
                    return given
        fill = 1 if _NULL_MODE == "ones" else 0
        return _torch.full_like(value.detach(), fill)
    if isinstance(value, bool):
        return _NULL_MODE == "ones"
    if isinstance(value, (int, float)):
        return type(value)(1 if _NULL_MODE == "ones" else 0)
    if isinstance(value, (list, tuple)):
        items = [_null_leaf(item, inputs) for item in value]
        return type(value)(items) if type(value) in (list, tuple) else type(value)(*items)
    if isinstance(value, dict):
        return {{key: _null_leaf(item, inputs) for key, item in value.items()}}
    if isinstance(value, _torch.nn.Module):
        return _NullModule(value)
    return None


def _flat(values):
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from _flat(value)
        elif isinstance(value, dict):
            yield from _flat(list(value.values()))
        else:
            yield value


_DEPTH = [0]  # inside a reference computing a shape, the other exercises are the reference's


def _shape_of(call, *args, **kwargs):
    """``call``'s output, to learn its shape (or None when it raises), and the inputs."""
    inputs = list(_flat([*args, *kwargs.values()]))
    _DEPTH[0] += 1
    try:
        with _torch.no_grad():
            return call(*_copied(args), **_copied(kwargs)), inputs
    except Exception:  # a null submission checks nothing either
        return None, inputs
    finally:
        _DEPTH[0] -= 1


def _copied(value):
    try:
        return _copy.deepcopy(value)
    except Exception:
        return value


class _NullModule(_torch.nn.Module):
    """A module with the reference's parameters whose forward says nothing."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *args, **kwargs):
        out, inputs = _shape_of(self.inner, *args, **kwargs)
        return _null_leaf(out, inputs)


def _null_function(reference):
    @_functools.wraps(reference)
    def null(*args, **kwargs):
        if _DEPTH[0]:
            return reference(*args, **kwargs)
        out, inputs = _shape_of(reference, *args, **kwargs)
        return _null_leaf(out, inputs)

    return null


def _null_method(method):
    @_functools.wraps(method)
    def null(self, *args, **kwargs):
        if _DEPTH[0]:
            return method(self, *args, **kwargs)
        out, inputs = _shape_of(method, self, *args, **kwargs)
        return _null_leaf(out, inputs)

    return null


def _null_class(reference):
    class Null(reference):
        pass

    for name, value in vars(reference).items():  # forward and its other methods say nothing
        if callable(value) and (name == "forward" or not name.startswith("_")):
            setattr(Null, name, _null_method(value))
    Null.__name__ = Null.__qualname__ = reference.__name__
    Null.__doc__ = reference.__doc__
    return Null

'''


def exported(source: str) -> list[str]:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise ValueError("no literal __all__")


def null_lesson(reference: str, mode: str) -> str:
    """The source of a null ``lessons/<lesson>.py``, built from the reference's source."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lines = [reference, NULL_HELPERS.format(mode=mode)]
    tree = ast.parse(reference)
    kinds = {
        node.name: type(node).__name__
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }
    for name in exported(reference):
        kind = kinds.get(name)
        if kind == "FunctionDef":
            lines.append(f"{name} = _null_function({name})")
        elif kind == "ClassDef":
            lines.append(f"{name} = _null_class({name})")
        else:  # a constant: left as the untouched stub leaves it
            lines.append(f"{name} = NotImplemented")
    return "\n".join(lines) + "\n"


def write_null_lesson(solutions: Path, lesson: str, mode: str, folder: Path) -> Path:
    path = folder / f"{lesson}.py"
    source = (solutions / f"{lesson}.py").read_text(encoding="utf-8")
    path.write_text(null_lesson(source, mode), encoding="utf-8")
    return path
