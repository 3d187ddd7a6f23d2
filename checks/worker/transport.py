"""Requests, grader -> worker: pickles (the worker trusts the grader), with tensors as raw bytes.

A request is ``(op, ..., options)`` pickled by ``GraderPickler``: tensors travel as dtype, shape
and bytes (one copy per tensor object, so aliases stay aliases, with ``requires_grad``, the
``nn.Parameter`` kind and ``.grad``), a ``torch.Generator`` as its state, a mirror as its handle in
the worker, and a check's local function as an index the worker calls back through. The worker's
``WorkerUnpickler`` rebuilds them. Answers go the other way in ``checks.wire``'s data-only format
(``checks.worker.answers``): nothing here ever unpickles what the worker sends.

Also here: mutmut's "trampoline hits" (tools/mutate.py), which travel with the answers during
mutmut's stats phase (``MUTANT_UNDER_TEST=stats``); nothing else uses them.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
from typing import Any

import torch
from torch import nn

from checks import wire
from checks.worker.bridge import GraderCallable


def _importable(function: Any) -> bool:
    """Whether pickle can send ``function`` by reference (a module-level, importable name)."""
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    if module is None or "<" in getattr(function, "__qualname__", "<"):
        return False
    target: Any = module
    for part in function.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is function


class GraderPickler(pickle.Pickler):
    """(grader side) Pickles a request; ``call`` collects its generators and callbacks."""

    def __init__(self, file: io.BytesIO, worker: Any, call: dict) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.worker = worker
        self.call = call
        self.tensors: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []

    def tensor(self, obj: torch.Tensor) -> Any:
        """Tensors as raw bytes (fast; one copy per tensor object, so aliases stay aliases)."""
        if (
            type(obj) not in (torch.Tensor, nn.Parameter)
            or obj.layout != torch.strided
            or obj.device.type != "cpu"
            or str(obj.dtype).removeprefix("torch.") not in wire.DTYPES
        ):
            return ("T", obj.detach(), obj.requires_grad) if obj.grad_fn is not None else None
        key = id(obj)
        if key in self.tensors:
            return ("r", self.tensors[key])
        index = len(self.tensors)
        self.tensors[key] = index
        self.keep.append(obj)
        kind = "P" if type(obj) is nn.Parameter else "t"
        grad = obj.grad if obj.is_leaf and obj.grad is not None else None
        return (
            "R",
            index,
            *raw(obj),
            obj.requires_grad,
            kind,
            None if grad is None else raw(grad),
        )

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return self.tensor(obj)
        if isinstance(obj, torch.Generator):
            self.call.setdefault("generators", []).append(obj)
            return ("G", len(self.call["generators"]) - 1, obj.get_state(), str(obj.device))
        if isinstance(obj, nn.Module) and "_bam_hid" in obj.__dict__:
            hid, generation = obj.__dict__["_bam_hid"]
            self.worker.check_generation(generation, obj)
            return ("H", hid)
        if isinstance(obj, (types.FunctionType, types.MethodType)) and not (
            isinstance(obj, types.FunctionType) and _importable(obj)
        ):
            if isinstance(obj, types.MethodType) and isinstance(obj.__self__, types.ModuleType):
                return None
            callbacks = self.call.setdefault("callbacks", [])
            callbacks.append(obj)
            return ("C", len(callbacks) - 1)
        return None


def raw(tensor: torch.Tensor) -> tuple[str, tuple[int, ...], bytes]:
    """A tensor as (dtype name, shape, bytes)."""
    plain = tensor.detach().cpu().contiguous()
    data = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
    return str(plain.dtype).removeprefix("torch."), tuple(plain.shape), data


def unraw(dtype_name: str, shape: tuple[int, ...], data: bytes) -> torch.Tensor:
    """The tensor of ``raw``."""
    dtype = wire.DTYPES[dtype_name]
    if not data:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape)


class WorkerUnpickler(pickle.Unpickler):
    """(worker side) Rebuilds a request; ``call`` collects its generators."""

    def __init__(self, file: io.BytesIO, serve: Any, call: dict) -> None:
        super().__init__(file)
        self.serve, self.call = serve, call
        self.tensors: dict[int, torch.Tensor] = {}

    def persistent_load(self, pid: Any) -> Any:
        tag = pid[0]
        if tag == "R":
            _, index, dtype_name, shape, data, requires_grad, kind, grad = pid
            value = unraw(dtype_name, shape, data)
            if kind == "P":
                value = nn.Parameter(value, requires_grad=requires_grad)
            elif requires_grad:
                value.requires_grad_(True)
            if grad is not None and value.requires_grad:
                value.grad = unraw(*grad)
            self.tensors[index] = value
            return value
        if tag == "r":
            return self.tensors[pid[1]]
        if tag == "T":
            return pid[1].requires_grad_(pid[2]) if pid[2] else pid[1]
        if tag == "G":
            generator = torch.Generator(device=pid[3])
            generator.set_state(pid[2])
            self.call.setdefault("generators", {})[pid[1]] = generator
            return generator
        if tag == "H":
            return self.serve.handles[pid[1]]
        if tag == "C":
            return GraderCallable(self.serve, pid[1])
        raise pickle.UnpicklingError(f"unknown persistent id {tag!r}")


# ----------------------------------------------------------------------------- mutation testing


def _mutmut_state() -> Any:
    module = sys.modules.get("mutmut")
    if module is None or os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    return getattr(module, "state", lambda: None)()


def mutation_hits() -> list[str]:
    """(worker side) The trampoline hits since the last answer (none outside mutmut's stats)."""
    state = _mutmut_state()
    if state is None or not getattr(state, "_stats", None):
        return []
    hits = sorted(state._stats)
    state._stats.clear()
    return hits


def record_mutation_hits(hits: Any) -> None:
    """(grader side) Adds the worker's hits to mutmut's record in this process."""
    state = _mutmut_state()
    if state is not None and isinstance(hits, list):
        state._stats.update(hit for hit in hits if isinstance(hit, str))
