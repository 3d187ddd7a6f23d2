"""The from-scratch rule: an exercise that calls the library it teaches scores 0.

The course builds NMS, RoIAlign, VGG16, anchors, mAP... from scratch, so a ``lessons/rpn.py``
whose ``nms`` returns ``torchvision.ops.nms(...)`` passes every check of ``rpn.nms`` and has
learnt nothing. ``bam.course.FROM_SCRATCH`` lists, per lesson, the library modules its exercises
must not call (``bam.course.EXEMPT`` the exercises where using one is the point).

How a call is seen (at run time, in the worker; the source is never grepped):

* **In the worker** (``install``, before any lesson module is imported): every function of a
  watched library module (``bam.course.LIBRARIES``: ``torchvision.ops``, ``torchvision.models``,
  ``albumentations``...), private ones included (``torchvision.ops.boxes._box_inter_union``), is
  replaced in every module that holds it by a wrapper, and every class of one has its
  ``__init__`` wrapped (building ``RegionProposalNetwork`` or ``A.HorizontalFlip`` is the
  call). torchvision's compiled operators (``torch.ops.torchvision.nms``, ``roi_align``...) are
  wrapped in their namespace too, and a watched module imported (or re-imported, or reloaded)
  later is wrapped as it loads. The wrapped callable still runs: the rule is a grade, not a
  sandbox, and an answer that comes back lets the other checks of the lesson run as usual.
* **Who called**: the wrapper walks up the Python stack from its caller, stepping over torch's
  and the standard library's frames (``nn.Module.__call__``, ``functools``, ``exec``'d code)
  and stops at the first other frame. A frame of the graded lesson file (or of a ``--mutant``
  file) is a violation, recorded as ``(lesson, function, called name)``; any other frame
  (a watched library calling itself, ``given/`` or ``bam/`` code, the checks' own references)
  is not. A check reference that *is* a library function (``student("yolo.yolo_postprocess",
  nms=torchvision.ops.nms)``) is swapped in through ``sanctioned``, whose own frame (here, in
  ``checks/``) is what the library sees as its caller.
* **In the grader**: each answer brings the worker's records along; ``violations`` turns them,
  with ``bam.course``'s table, into "exercise -> message", and ``checks/conftest.py`` fails the
  check and zeroes every check of that exercise (the scoreboard, ``bam check`` and
  Gradescope's results.json).

Not covered (deliberate tampering that a reading of the submission catches, not a mistake a
student makes on the way): digging the original out of a wrapper's closure or with ``gc``;
replacing this module's functions inside the worker; compiling code under a fake file name
(``given/...``); calling the library from a thread the student starts; reaching a compiled
operator through ``torch._C`` or ``torch.library``; building a watched class without its
``__init__`` (``object.__new__``); libraries outside ``bam.course.LIBRARIES`` (a copy of
torchvision's NMS pasted into the lesson is plagiarism, not a library call).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.util
import inspect
import os
import re
import sys
import sysconfig
import types
from typing import Any

# ============================================================================ the worker's side

_STATE: dict[str, Any] = {"installed": False, "student": {}, "records": [], "seen": set()}
_WRAPPERS: dict[int, Any] = {}  # id(original) -> its wrapper (one wrapper per original)
_ORIGINALS: dict[int, Any] = {}  # id(wrapper) -> (original, its name)
_NAMES: dict[int, str] = {}  # id(original) -> the shortest public name it was found under
_KIND: dict[str, str] = {}  # file name -> "student:<lesson>" | "skip" | "stop"
TORCHVISION_OPS = ("nms", "roi_align", "roi_pool", "ps_roi_align", "ps_roi_pool", "deform_conv2d")


def _prefixes() -> tuple[str, ...]:
    from bam import course

    return tuple(course.LIBRARIES)


def _watched(module_name: str) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in _prefixes())


def _skip_dirs() -> tuple[str, str]:
    import torch

    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    return os.path.dirname(os.path.realpath(torch.__file__)) + os.sep, stdlib + os.sep


def _kind(filename: str) -> str:
    kind = _KIND.get(filename)
    if kind is not None:
        return kind
    if filename.startswith("<"):  # exec'd or generated code: look at who ran it
        kind = "skip"
    else:
        path = os.path.realpath(filename)
        lesson = _STATE["student"].get(path)
        if lesson is None and os.path.dirname(path) in _STATE["student"]:
            lesson = os.path.splitext(os.path.basename(path))[0]
        if lesson is not None:
            kind = f"student:{lesson}"
        elif path.startswith(_STATE["skip"][0]) or (
            path.startswith(_STATE["skip"][1]) and "-packages" not in path
        ):
            kind = "skip"  # torch (nn.Module.__call__, vmap...), the standard library
        else:
            kind = "stop"
    _KIND[filename] = kind
    return kind


def _caller(depth: int) -> tuple[str, str] | None:
    """(lesson, function) of the student frame that made this call, if a student frame did."""
    frame = sys._getframe(depth)
    while frame is not None:
        kind = _kind(frame.f_code.co_filename)
        if kind.startswith("student:"):
            return kind.removeprefix("student:"), frame.f_code.co_qualname
        if kind == "stop":
            return None
        frame = frame.f_back
    return None


def _record(called: str, depth: int = 3) -> None:
    found = _caller(depth)
    if found is None:
        return
    record = (found[0], found[1], called)
    if record not in _STATE["seen"]:
        _STATE["seen"].add(record)
        _STATE["records"].append(list(record))


def _function_wrapper(original: Any, name: str) -> Any:
    key = id(original)

    @functools.wraps(original)
    def watched(*args: Any, **kwargs: Any) -> Any:
        _record(_NAMES.get(key, name))
        return original(*args, **kwargs)

    del watched.__wrapped__  # inspect.unwrap must not hand the original out
    # what libraries read of it (pydantic reads Albumentations' validators' signatures)
    with contextlib.suppress(TypeError, ValueError):
        watched.__signature__ = inspect.signature(original)
    return watched


def _init_wrapper(original: Any, name: str) -> Any:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        built = next(  # the library class built (HorizontalFlip, not its base that has __init__)
            (k for k in type(self).__mro__ if _watched(k.__module__)), type(self)
        )
        _record(f"{built.__module__}.{built.__qualname__}" if built is not None else name)
        original(self, *args, **kwargs)

    # kept: libraries (Albumentations) read their classes' signatures through it
    __init__.__wrapped__ = original
    return __init__


def _public(module_name: str, attribute: str) -> bool:
    return not any(part.startswith("_") for part in (*module_name.split("."), attribute))


def _name_functions(module: types.ModuleType) -> None:
    """Names each watched function by the shortest public name it is found under."""
    module_name = getattr(module, "__name__", "")
    for attribute, value in list(vars(module).items()):
        if not isinstance(value, types.FunctionType) or id(value) in _ORIGINALS:
            continue
        if not _watched(getattr(value, "__module__", None) or ""):
            continue
        name = _NAMES.get(id(value))
        if _public(module_name, attribute):
            public = f"{module_name}.{attribute}"
            if name is None or len(public) < len(name) or not _public(*name.rsplit(".", 1)):
                _NAMES[id(value)] = public
        elif name is None:
            _NAMES[id(value)] = f"{value.__module__}.{value.__qualname__}"


def wrap_module(module: types.ModuleType) -> None:
    """Wraps the watched functions and classes a module holds (idempotent)."""
    _name_functions(module)
    for attribute, value in list(vars(module).items()):
        if attribute.startswith("__"):
            continue
        if isinstance(value, type):
            _wrap_class(value)
            continue
        if not isinstance(value, types.FunctionType) or id(value) in _ORIGINALS:
            continue
        if not _watched(getattr(value, "__module__", None) or ""):
            continue
        wrapper = _WRAPPERS.get(id(value))
        if wrapper is None:
            wrapper = _function_wrapper(value, _NAMES[id(value)])
            _WRAPPERS[id(value)] = wrapper
            _ORIGINALS[id(wrapper)] = value
        with contextlib.suppress(AttributeError, TypeError):
            setattr(module, attribute, wrapper)


def _wrap_class(cls: type) -> None:
    if not _watched(cls.__module__) or "__init__" not in cls.__dict__:
        return
    init = cls.__dict__["__init__"]
    if id(init) in _ORIGINALS or not isinstance(init, types.FunctionType):
        return
    name = f"{cls.__module__}.{cls.__qualname__}"
    wrapper = _init_wrapper(init, name)
    _ORIGINALS[id(wrapper)] = init
    with contextlib.suppress(AttributeError, TypeError):
        cls.__init__ = wrapper


class _OpWrapper:
    """``torch.ops.torchvision.<op>`` (and its overloads, ``.default``) with the call recorded."""

    def __init__(self, packet: Any, name: str) -> None:
        self._packet, self._name = packet, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _record(self._name, depth=3)
        return self._packet(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._packet, attribute)
        if attribute.startswith("_") or not callable(value):
            return value
        return _OpWrapper(value, f"{self._name}.{attribute}")


def _wrap_torch_ops() -> None:
    import torch

    try:
        namespace = torch.ops.torchvision
    except (AttributeError, RuntimeError):
        return
    for op in TORCHVISION_OPS:
        try:
            packet = getattr(namespace, op)
        except (AttributeError, RuntimeError):
            continue
        if not isinstance(packet, _OpWrapper):
            setattr(namespace, op, _OpWrapper(packet, f"torch.ops.torchvision.{op}"))


class _Loader(importlib.abc.Loader):
    """A watched module's own loader, then the wrapping (imports and reloads after install)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.loader.exec_module(module)
        wrap_module(module)
        if module.__name__ == "torchvision":  # its compiled operators are registered by now
            _wrap_torch_ops()


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if not _watched(name):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def install(package: str, mutant: str | None = None) -> None:
    """(worker) Watches the libraries of ``bam.course.LIBRARIES`` for calls from ``package``."""
    if _STATE["installed"]:
        return
    student: dict[str, str | None] = {}
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        student[os.path.realpath(location)] = None  # a folder: each file is its lesson
    if mutant:
        import ast

        with open(mutant, encoding="utf-8") as file:
            tree = ast.parse(file.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "EXERCISE" for t in node.targets
            ):
                student[os.path.realpath(mutant)] = str(node.value.value).split(".", 1)[0]
    _STATE["student"] = student
    _STATE["skip"] = _skip_dirs()
    modules = [
        module
        for name, module in sorted(sys.modules.items())
        if isinstance(module, types.ModuleType) and _watched(name)
    ]
    for module in modules:  # names first (torchvision.ops.nms, not torchvision.ops.boxes.nms)
        _name_functions(module)
    for module in modules:
        wrap_module(module)
    _wrap_torch_ops()
    sys.meta_path.insert(0, _Finder())
    _STATE["installed"] = True


def sanctioned(reference: Any) -> Any:
    """A check's reference that is itself a library function, called from here (not a lesson)."""
    if id(reference) not in _ORIGINALS or isinstance(reference, type):
        return reference

    @functools.wraps(reference)
    def check_reference(*args: Any, **kwargs: Any) -> Any:
        return reference(*args, **kwargs)

    del check_reference.__wrapped__
    return check_reference


def attach(message: dict) -> dict:
    """(worker) An answer with the library calls seen since the last one."""
    if not _STATE["records"]:
        return message
    records, _STATE["records"] = _STATE["records"], []
    _STATE["seen"].clear()
    return {**message, "library_calls": records}


# ============================================================================ the grader's side


def received(message: dict) -> list[tuple[str, str, str]]:
    """(grader) The records an answer brought, checked to be what the worker sends."""
    records = message.pop("library_calls", None)
    if not isinstance(records, list):
        return []
    return [
        (record[0], record[1], record[2])
        for record in records[:100]
        if isinstance(record, list) and len(record) == 3 and all(type(r) is str for r in record)
    ]


RULE = (
    "From scratch: an exercise that calls the library it builds (torchvision.ops, its models,"
    " Albumentations outside build_pipeline, COCO/mAP packages: bam.course.FROM_SCRATCH)"
    " scores 0."
)
"""The rule in one sentence, under every scoreboard."""

MARK = "[from scratch]"
"""The start of every from-scratch verdict's message (``bam check`` zeroes its exercise)."""


def violations(records: list[tuple[str, str, str]], graded: str, display: str) -> dict[str, str]:
    """(grader) ``{exercise: message}`` for the records that break ``bam.course``'s rule.

    Args:
        records: ``(lesson, function qualname, called)`` from the worker.
        graded: the exercise whose check was running (``"rpn.propose"``).
        display: the graded package's folder as students see it (``"lessons"``).

    A call from a function that is itself an exercise counts against that exercise; one from
    a helper counts against the graded exercise when it lives in the graded lesson's file.
    """
    from bam import course

    found: dict[str, str] = {}
    for lesson, qualname, called in records:
        head = re.sub(r"^x_(.+?)__mutmut_\w+$", r"\1", qualname.split(".", 1)[0])
        try:
            names = course.exercises(lesson)
        except course.CourseError:
            continue
        if head in names:
            owner = f"{lesson}.{head}"
        elif lesson == graded.split(".", 1)[0]:
            owner = graded
        else:
            continue
        if owner in found or not course.is_forbidden(owner, called):
            continue
        _, why = course.forbidden(owner)
        found[owner] = (
            f"{MARK} {display}/{lesson}.py::{qualname} called {called}: {why}, so {owner}"
            " scores 0 however its checks went (the rule: bam.course.FROM_SCRATCH)"
        )
    return found
