"""Answers, worker -> grader: the tagged nodes that ``checks.wire``'s data-only format leaves to us.

``checks.wire`` carries tensors, numbers, strings and containers of them. Four more things cross,
each as a tagged node that the grader interprets itself (``decode_special``):

* ``M``: a module built by student code, as a mirror (``checks.worker.mirrors``);
* ``PR``: a parameter of an argument, resolved to the grader's own parameter object;
* ``E``: an exception, as its type's names, message and frames (``ErrorBox``), rebuilt by
  ``rebuild_error`` as a builtin exception class (under the student's class name) with a fake
  traceback that points at the student's files and lines;
* ``AL``: an albumentations pipeline, rebuilt from its parameters only when every transform in it
  is one of ``ALBUMENTATIONS_REBUILT`` (pure pixel and geometry ones).

Trusts nothing that comes from the worker: every field is type-checked and length-capped, no
class named by the worker is ever instantiated except builtin exceptions and those transforms.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
import types
from typing import Any

import torch
from torch import nn

from checks import wire
from checks.errors import BUILTIN_ERRORS
from checks.worker import mirrors

# frames of the grading machinery, left out of the tracebacks shown to a student
_HERE = os.path.dirname(os.path.abspath(__file__))
PLUMBING = {
    *(os.path.join(_HERE, name) for name in os.listdir(_HERE) if name.endswith(".py")),
    os.path.join(os.path.dirname(_HERE), "harness.py"),
}

# albumentations transforms a pipeline from the worker may use: pure pixel and geometry ones,
# rebuilt from their parameters (none reads files or runs code of the student's)
ALBUMENTATIONS_REBUILT = frozenset(
    [
        "Compose",
        "Sequential",
        "OneOf",
        "SomeOf",
        "NoOp",
        "HorizontalFlip",
        "VerticalFlip",
        "Transpose",
        "RandomRotate90",
        "Rotate",
        "Affine",
        "ShiftScaleRotate",
        "RandomBrightnessContrast",
        "ColorJitter",
        "HueSaturationValue",
        "RandomGamma",
        "GaussianBlur",
        "GaussNoise",
        "Normalize",
        "Resize",
        "LongestMaxSize",
        "SmallestMaxSize",
        "PadIfNeeded",
        "RandomCrop",
        "CenterCrop",
        "Crop",
        "RandomSizedCrop",
        "RandomResizedCrop",
        "ToGray",
    ]
)


class ParamRef:
    """An answer's reference to a parameter of an argument (resolved to the grader's own)."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref


class RemoteError:
    """An exception described by the worker (rebuilt by ``rebuild_error``)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec


class Refused:
    """A value the grader refused to rebuild (the sentence says what it was)."""

    def __init__(self, what: str) -> None:
        self.what = what


# ============================================================================ the grader's side


def decode_special(worker: Any, decoder: wire.Decoder, node: dict, depth: int) -> tuple[bool, Any]:
    """``checks.wire``'s hook for tagged nodes: (handled, value)."""
    if "M" in node:
        return True, mirrors.build_mirror(worker, decoder, node["M"], depth)
    if "PR" in node:
        return True, ParamRef(node["PR"])
    if "E" in node:
        return True, RemoteError(node["E"])
    if "AL" in node:
        return True, _albumentations(decoder, node["AL"], depth)
    return False, None


def _transform_names(spec: Any) -> set[str]:
    names = set()
    if isinstance(spec, dict):
        name = spec.get("__class_fullname__")
        if name is not None:
            names.add(str(name).rsplit(".", 1)[-1])
        for value in spec.values():
            names |= _transform_names(value)
    elif isinstance(spec, (list, tuple)):
        for value in spec:
            names |= _transform_names(value)
    return names


def _albumentations(decoder: wire.Decoder, node: Any, depth: int) -> Any:
    import albumentations

    spec = decoder.decode(node, depth + 1)
    unknown = sorted(_transform_names(spec) - ALBUMENTATIONS_REBUILT)
    if unknown:
        return Refused(
            f"an albumentations pipeline using {', '.join(unknown)}, which the grader"
            " does not rebuild (it rebuilds only the course's usual transforms)"
        )
    try:
        return albumentations.from_dict(spec)
    except Exception as error:
        return Refused(f"an albumentations pipeline the grader cannot rebuild ({error})")


def rebuild_error(spec: Any) -> BaseException:
    """The exception a student's code raised in the worker, rebuilt with its traceback."""
    if not isinstance(spec, RemoteError):
        return RuntimeError("an error the grading process could not describe")
    spec = spec.spec
    if not isinstance(spec, dict):
        return RuntimeError("an error the grading process could not describe")
    names = spec.get("mro") if isinstance(spec.get("mro"), list) else []
    message = str(spec.get("message", ""))[:4000]
    if "SystemExit" in names:
        error: BaseException = SystemExit(spec.get("code"))
    else:
        kind = next((BUILTIN_ERRORS[n] for n in names if n in BUILTIN_ERRORS), Exception)
        shown = str(spec.get("type", kind.__name__))[:200]
        if kind is KeyError:
            error = KeyError(message)
        elif kind.__name__ == shown:
            error = kind(message)
        else:
            error = _named_error(kind, shown)(message)
    frames = spec.get("frames")
    if isinstance(frames, list):
        with contextlib.suppress(Exception):
            error = error.with_traceback(_fake_traceback(error, frames[-40:]))
    return error


@functools.cache
def _named_error(kind: type, name: str) -> type:
    """``kind`` under the student's exception's name (``torch.OutOfMemoryError`` -> RuntimeError)."""
    short = name.rsplit(".", 1)[-1]
    if not short.isidentifier():
        return kind
    return type(short, (kind,), {"__module__": name.rpartition(".")[0] or "builtins"})


def _fake_traceback(error: BaseException, frames: list) -> types.TracebackType | None:
    """A traceback whose frames name the student's files and lines (pytest shows their code)."""
    tb = None
    for frame in reversed(frames):
        if not (
            isinstance(frame, list)
            and len(frame) == 3
            and isinstance(frame[0], str)
            and type(frame[1]) is int
            and isinstance(frame[2], str)
        ):
            continue
        filename, lineno, name = frame[0][:500], max(1, min(frame[1], 100_000)), frame[2][:200]
        code = compile("\n" * (lineno - 1) + "raise __bam_error__", filename, "exec")
        if name.isidentifier():
            code = code.replace(co_name=name)
        namespace = {"__bam_error__": error, "__name__": "student", "__tracebackhide__": False}
        try:
            exec(code, namespace)
        except BaseException:
            here = sys.exc_info()[2]
            made = here.tb_next if here is not None else None
            if made is not None:
                tb = types.TracebackType(tb, made.tb_frame, made.tb_lasti, made.tb_lineno)
    error.__traceback__ = None
    return tb


# ============================================================================ the worker's side


def encode_special(serve: Any, encoder: wire.Encoder, value: Any, depth: int) -> Any:
    """``checks.wire``'s hook for what it does not carry itself: a tagged node, or None."""
    if isinstance(value, nn.Module):
        return {"M": mirrors.describe_module(serve, encoder, value, depth)}
    if isinstance(value, torch.Tensor) and id(value) in serve.call.get("param_refs", {}):
        return {"PR": list(serve.call["param_refs"][id(value)])}
    if isinstance(value, ErrorBox):
        return {"E": value.spec}
    if type(value).__module__.startswith("albumentations.") and hasattr(value, "to_dict"):
        import albumentations

        try:
            spec = albumentations.to_dict(value)
        except Exception as error:
            raise wire.NotData(
                f"an albumentations pipeline that cannot be described ({error})"
            ) from None
        return {"AL": encoder.encode(spec, depth + 1)}
    return None


class ErrorBox:
    """An exception described in data: its type's names, message and the frames it went through."""

    def __init__(self, error: BaseException) -> None:
        frames = [
            [frame.filename, frame.lineno or 1, frame.name]
            for frame in traceback.extract_tb(error.__traceback__)
            if os.path.abspath(frame.filename) not in PLUMBING
        ]
        try:
            message = str(error)
        except Exception:  # a student's __str__ may raise
            message = "(an error whose message could not be read)"
        self.spec = {
            "type": f"{type(error).__module__}.{type(error).__qualname__}".removeprefix(
                "builtins."
            ),
            "mro": [kind.__name__ for kind in type(error).__mro__],
            "message": message[:4000],
            "frames": frames[-40:],  # raw JSON: [file, line, function] each
        }
        if isinstance(error, SystemExit):
            code = error.code
            self.spec["code"] = code if type(code) in (int, str) or code is None else str(code)
