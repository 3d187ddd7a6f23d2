"""Modules built by student code live in the worker; the grader holds a mirror of each.

A mirror has the same tree of submodules with the same parameters and buffers: real ``torch.nn``
layers where the worker's are plain ``torch.nn`` layers (so ``isinstance(m, nn.Conv2d)`` and
``state_dict()`` work), a ``RemoteModule`` shell forwarding ``forward`` and the class's own methods
to the worker for a student's class. Before each remote call the grader pushes what changed in
the mirror (``push_state``, applied by ``apply_push``: an optimiser step, ``load_state_dict``,
``train()``/``eval()``); after it, what the worker changed comes back (``changed_state``, applied
by ``copy_into_mirror``). Models and optimisers that a check passes in are copied in, and their
new state is copied back out (``argument_copies`` there, ``apply_copy`` here).

Trusts: the grader builds a mirror only from the data-only format (``checks.wire``): a native
layer class is taken only from ``torch.nn.modules.*`` by name (``native_class``), and nothing of
a student's class is instantiated here.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from typing import Any

import torch
from torch import nn

from checks import wire

MODULE_INTERNALS = frozenset(nn.Module().__dict__)


class RemoteModule(nn.Module):
    """A student's module class, mirrored: parameters here, ``forward`` (and methods) there."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self.__dict__["_bam_worker"].call_method(self, "forward", args, kwargs)

    def __deepcopy__(self, memo: dict) -> Any:
        """A copy made in the worker (with this mirror's state), mirrored anew."""
        return self.__dict__["_bam_worker"].call_method(self, "__deepcopy__", (), {})

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            methods = self.__dict__.get("_bam_methods", ())
            if name in methods:
                worker = self.__dict__["_bam_worker"]

                def method(*args: Any, **kwargs: Any) -> Any:
                    __tracebackhide__ = True
                    return worker.call_method(self, name, args, kwargs)

                return method
            raise


_SHELL_CLASSES: dict[str, type] = {}


def _shell_class(name: str) -> type:
    if not name.isidentifier():
        name = "StudentModule"
    if name not in _SHELL_CLASSES:
        _SHELL_CLASSES[name] = type(name, (RemoteModule,), {"__module__": "checks.worker"})
    return _SHELL_CLASSES[name]


def native_class(path: Any) -> type | None:
    """A ``torch.nn`` layer class named by the worker, if it is one (never anything else)."""
    if not (isinstance(path, list) and len(path) == 2 and all(isinstance(p, str) for p in path)):
        return None
    module_name, qualname = path
    if not module_name.startswith("torch.nn.modules.") or "." in qualname:
        return None
    module = sys.modules.get(module_name)
    kind = getattr(module, qualname, None) if module is not None else None
    if isinstance(kind, type) and issubclass(kind, nn.Module) and kind.__module__ == module_name:
        return kind
    return None


# ============================================================================ the grader's side


def build_mirror(worker: Any, decoder: wire.Decoder, spec: Any, depth: int) -> nn.Module:
    """The mirror of a ``describe_module`` node (``worker``: the grader's ``Worker``)."""
    if not isinstance(spec, dict) or type(spec.get("hid")) is not int:
        raise wire.WireError("a module mirror without a handle")
    hid = spec["hid"]
    native = native_class(spec.get("cls")) if spec.get("native") is True else None
    if native is not None:
        module = native.__new__(native)
        nn.Module.__init__(module)
    else:
        module = _shell_class(str(spec.get("name", "StudentModule")))()
        methods = decoder.decode(spec.get("methods", {"L": []}), depth + 1)
        if not isinstance(methods, list):
            raise wire.WireError("module methods that are not a list")
        module.__dict__["_bam_methods"] = frozenset(m for m in methods if isinstance(m, str))
        module.__dict__["_bam_worker"] = worker
    _fill_mirror(module, decoder, spec, depth)
    module.training = spec.get("training") is True
    module.__dict__["_bam_hid"] = (hid, worker.generation)
    weakref.finalize(module, worker.release_handle, hid, worker.generation)
    return module


def _fill_mirror(module: nn.Module, decoder: wire.Decoder, spec: dict, depth: int) -> None:
    attrs = decoder.decode(spec.get("attrs", {"D": []}), depth + 1)
    if not isinstance(attrs, dict):
        raise wire.WireError("module attributes that are not a dict")
    for key, value in attrs.items():
        if isinstance(key, str) and key not in MODULE_INTERNALS and not key.startswith("__"):
            module.__dict__[key] = value
    for name, value in decoder.decode(spec.get("params", {"D": []}), depth + 1).items():
        if value is not None and type(value) is not nn.Parameter:
            value = nn.Parameter(value, requires_grad=value.requires_grad)
        module.register_parameter(str(name), value)
    persistent = set(decoder.decode(spec.get("persistent", {"L": []}), depth + 1))
    for name, value in decoder.decode(spec.get("buffers", {"D": []}), depth + 1).items():
        if value is not None and not isinstance(value, torch.Tensor):
            raise wire.WireError("a buffer that is not a tensor")
        module.register_buffer(str(name), value, persistent=name in persistent)
    for name, child in decoder.decode(spec.get("children", {"D": []}), depth + 1).items():
        if child is not None and not isinstance(child, nn.Module):
            raise wire.WireError("a child module that is not a module")
        module.add_module(str(name), child)


def push_state(synced: dict, module: nn.Module) -> dict:
    """What changed in the mirror since the worker last saw it (by tensor version)."""
    params, buffers = {}, {}
    for name, parameter in module.named_parameters():
        stamp = (id(parameter), parameter._version, parameter.requires_grad)
        if synced.get("p." + name) != stamp:
            params[name] = (parameter.detach(), parameter.requires_grad)
            synced["p." + name] = stamp
    for name, buffer in module.named_buffers():
        stamp = (id(buffer), buffer._version, False)
        if synced.get("b." + name) != stamp:
            buffers[name] = buffer.detach()
            synced["b." + name] = stamp
    flags = {name: sub.training for name, sub in module.named_modules()}
    return {"params": params, "buffers": buffers, "flags": flags}


def copy_into_mirror(module: nn.Module, changed: dict, synced: dict) -> None:
    """What the worker changed in the module (``changed_state``), into its mirror."""
    with torch.no_grad():
        for name, value in changed.get("params", {}).items():
            with contextlib.suppress(AttributeError, RuntimeError, TypeError):
                parameter = module.get_parameter(name)
                if isinstance(value, torch.Tensor):
                    parameter.data = value.to(parameter.dtype)
                    synced["p." + name] = (
                        id(parameter),
                        parameter._version,
                        parameter.requires_grad,
                    )
        for name, value in changed.get("buffers", {}).items():
            with contextlib.suppress(AttributeError, RuntimeError, TypeError):
                buffer = module.get_buffer(name)
                if isinstance(value, torch.Tensor) and buffer is not None:
                    buffer.data = value.to(buffer.dtype)
                    synced["b." + name] = (id(buffer), buffer._version, False)


def apply_copy(target: Any, copy: dict) -> None:
    """Copies an argument's new state (from the worker) into the grader's object."""
    if isinstance(target, torch.optim.Optimizer):
        state = copy.get("optimizer")
        if isinstance(state, dict):
            target.load_state_dict(state)
        return
    with torch.no_grad():
        for name, (value, requires_grad, grad) in copy.get("params", {}).items():
            parameter = target.get_parameter(name)
            parameter.data = value.to(parameter.dtype)
            parameter.requires_grad_(bool(requires_grad))
            parameter.grad = None if grad is None else grad.to(parameter.dtype)
        for name, value in copy.get("buffers", {}).items():
            buffer = target.get_buffer(name)
            if buffer is not None:
                buffer.data = value.to(buffer.dtype)
        modules = dict(target.named_modules())
        for name, training in copy.get("flags", {}).items():
            if name in modules:
                modules[name].training = bool(training)


# ============================================================================ the worker's side


def describe_module(serve: Any, encoder: wire.Encoder, module: nn.Module, depth: int) -> dict:
    """A module as a mirror node; ``serve`` keeps it under a new handle."""
    hid = serve.next_handle
    serve.next_handle += 1
    serve.handles[hid] = module
    kind = type(module)
    native = kind.__module__.startswith("torch.nn.modules.")
    attrs = []
    for key, value in vars(module).items():
        if key in MODULE_INTERNALS or key.startswith("__"):
            continue
        try:
            attrs.append([key, encoder.encode(value, depth + 2)])
        except wire.NotData:
            native = False  # a torch layer carrying something else: run it here instead
    methods = [
        name
        for name in dir(kind)
        if not name.startswith("_")
        and not hasattr(nn.Module, name)
        and callable(getattr(kind, name, None))
    ]
    children = [
        [
            name,
            None if child is None else {"M": describe_module(serve, encoder, child, depth + 1)},
        ]
        for name, child in module._modules.items()
    ]
    return {
        "hid": hid,
        "cls": [kind.__module__, kind.__qualname__],
        "name": kind.__name__,
        "native": native,
        "methods": {"L": methods},
        "training": bool(module.training),
        "attrs": {"D": attrs},
        "params": {
            "D": [
                [name, None if p is None else encoder.tensor(p)]
                for name, p in module._parameters.items()
            ]
        },
        "buffers": {
            "D": [
                [name, None if b is None else encoder.tensor(b)]
                for name, b in module._buffers.items()
            ]
        },
        "persistent": {
            "L": [n for n in module._buffers if n not in module._non_persistent_buffers_set]
        },
        "children": {"D": children},
    }


def apply_push(module: nn.Module, push: dict) -> None:
    """The mirror's changes (``push_state``), into the worker's module."""
    with torch.no_grad():
        for name, (value, requires_grad) in push.get("params", {}).items():
            parameter = module.get_parameter(name)
            parameter.data = value
            parameter.requires_grad_(requires_grad)
        for name, value in push.get("buffers", {}).items():
            owner, _, leaf = name.rpartition(".")
            (module.get_submodule(owner) if owner else module)._buffers[leaf] = value
    modules = dict(module.named_modules())
    for name, training in push.get("flags", {}).items():
        if name in modules:
            modules[name].training = training


def argument_copies(arguments: dict, keys: list) -> dict:
    """The new state of the models and optimisers passed as ``arguments[key]``, for the grader."""
    copies = {}
    for key in keys:
        value = arguments.get(key)
        if isinstance(value, nn.Module):
            copies[key] = {
                "params": {
                    name: (
                        p.detach(),
                        p.requires_grad,
                        None if p.grad is None else p.grad.detach(),
                    )
                    for name, p in value.named_parameters()
                },
                "buffers": {name: b.detach() for name, b in value.named_buffers()},
                "flags": {name: m.training for name, m in value.named_modules()},
            }
        elif isinstance(value, torch.optim.Optimizer):
            copies[key] = {"optimizer": value.state_dict()}
    return copies


def versions(module: nn.Module) -> dict[str, tuple[int, int]]:
    """(id, version) of each parameter and buffer, to see later what a call changed."""
    state = {"p." + n: (id(p), p._version) for n, p in module.named_parameters()}
    state.update({"b." + n: (id(b), b._version) for n, b in module.named_buffers()})
    return state


def changed_state(module: nn.Module, before: dict) -> dict:
    """The parameters and buffers changed since ``versions`` gave ``before``."""
    params = {
        n: p.detach()
        for n, p in module.named_parameters()
        if before.get("p." + n) != (id(p), p._version)
    }
    buffers = {
        n: b.detach()
        for n, b in module.named_buffers()
        if before.get("b." + n) != (id(b), b._version)
    }
    return {"params": params, "buffers": buffers}
