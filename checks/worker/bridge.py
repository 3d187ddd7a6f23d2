"""Gradients across the two processes: a remote computation as one autograd node.

A call whose inputs (or a mirror's parameters) require grad runs inside ``_Bridge``, an
``autograd.Function`` whose ``backward`` asks the other side for the vector-Jacobian product of
the graph it kept. The same bridge serves both directions: the grader calling student code in the
worker (``checks.worker.grader``), and the worker calling back a check's local function that stays
in the grader (``GraderCallable`` here, the worker's side).

Trusts: the shapes and counts of what comes back are checked by the callers (a broken answer is a
protocol error there); this module only walks structures of tensors in a fixed order.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from checks.errors import BUILTIN_ERRORS

KEPT_GRAPHS = 512  # autograd graphs a worker keeps at most (each freed with its grader-side node)


def grad_tensors(value: Any, found: list | None = None) -> list:
    """The tensors requiring grad in a structure of arguments, in a fixed order (both sides)."""
    found = [] if found is None else found
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            grad_tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            grad_tensors(item, found)
    return found


def flat_tensors(value: Any, found: list | None = None) -> list:
    """Every tensor in a decoded answer, in the order the encoder met them."""
    found = [] if found is None else found
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            flat_tensors(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            flat_tensors(item, found)
    return found


def answer_tensors(value: Any, found: list, skip: dict) -> None:
    """The tensors of an answer in the order ``wire`` encodes them (and the grader decodes them)."""
    if isinstance(value, nn.Module):
        return
    if isinstance(value, torch.Tensor):
        if id(value) not in skip:
            found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            answer_tensors(item, found, skip)
    elif isinstance(value, dict):
        for item in value.values():
            answer_tensors(item, found, skip)


def replace_tensors(value: Any, replacements: Any) -> Any:
    """``value`` with each tensor replaced by the next of ``replacements`` (same order)."""
    if isinstance(value, torch.Tensor):
        return next(replacements)
    if isinstance(value, list):
        return [replace_tensors(item, replacements) for item in value]
    if isinstance(value, tuple):
        return tuple(replace_tensors(item, replacements) for item in value)
    if isinstance(value, dict):
        return {key: replace_tensors(item, replacements) for key, item in value.items()}
    return value


class _Bridge(torch.autograd.Function):
    """A remote computation as one autograd node: backward asks the other side for the VJP."""

    @staticmethod
    def forward(ctx: Any, box: dict, *inputs: torch.Tensor) -> Any:
        outputs, differentiable, vjp = box["run"]()
        ctx.vjp = vjp
        ctx.differentiable = differentiable
        ctx.set_materialize_grads(False)
        fixed = [tensor for tensor, diff in zip(outputs, differentiable, strict=True) if not diff]
        if fixed:
            ctx.mark_non_differentiable(*fixed)  # one call: a second one would replace the first
        return tuple(outputs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        wanted = [g for g, diff in zip(grads, ctx.differentiable, strict=True) if diff]
        if all(g is None for g in wanted):
            return (None, *([None] * ctx.vjp.inputs))
        return (None, *ctx.vjp(wanted))


def bridged(inputs: list[torch.Tensor], run: Any) -> Any:
    """Calls ``run()`` -> (outputs, differentiable, vjp) inside ``_Bridge`` when it can matter."""
    box = {"run": run}
    outputs = _Bridge.apply(box, *inputs)
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    return list(outputs)


class NoGraph:
    """The backward of a call whose answer has no differentiable output: no gradient."""

    def __init__(self, inputs: int) -> None:
        self.inputs = inputs

    def __call__(self, grads: list) -> list:
        return [None] * self.inputs


class GraderCallable:
    """(worker side) A check's function that stays in the grader; calling it asks the grader."""

    def __init__(self, serve: Any, index: int) -> None:
        self.serve, self.index = serve, index

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        serve = self.serve
        inputs = grad_tensors((args, kwargs)) if torch.is_grad_enabled() else []
        box: dict = {}

        def run() -> tuple[list, list, Any]:
            serve.send({"op": "callback", "cb": self.index, "args": list(args), "kwargs": kwargs})
            reply = serve.wait()
            if reply[0] == "err":
                box["error"] = reply
                return [], [], None
            _, result, gid, diff = reply
            box["result"] = result
            flat = flat_tensors(result)
            if len(diff) != len(flat):
                diff = [False] * len(flat)
            vjp = _callback_vjp(serve, gid, len(inputs))
            return [t.detach() for t in flat], [bool(d) and gid is not None for d in diff], vjp

        if inputs:
            outputs = bridged(inputs, run)
        else:
            outputs, _, _ = run()
        if "error" in box:
            _, name, message = box["error"]
            raise BUILTIN_ERRORS.get(name, RuntimeError)(message)
        result = box["result"]
        return replace_tensors(result, iter(outputs)) if inputs else result


def _callback_vjp(serve: Any, gid: Any, inputs: int) -> Any:
    def vjp(grads: list) -> list:
        serve.send({"op": "cbvjp", "gid": gid, "grads": grads})
        answer = serve.wait()
        if answer[0] == "err":
            raise RuntimeError(f"the check's function could not backpropagate: {answer[2]}")
        return answer[1]

    vjp.inputs = inputs
    return vjp
