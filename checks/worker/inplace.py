"""Whether student code changed an input in place: snapshots of the arguments, compared after.

Runs in the worker, around a watched call (``student(...)``). Trusts nothing it compares: a
snapshot is a plain copy of the tensors, taken before the call, and the comparison uses only
``torch.equal`` on tensors (NaN in the same places counts as unchanged).
"""

from __future__ import annotations

from typing import Any

import torch


def snapshot(value: Any) -> Any:
    """Deep copy of the tensors inside ``value`` (tensors, lists, tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return [snapshot(item) for item in value]
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    return None


def changed(before: Any, after: Any) -> bool:
    """Whether ``after`` differs from its ``snapshot`` ``before`` (shape, values or length)."""
    if isinstance(after, torch.Tensor):
        if before is None or before.shape != after.shape:
            return True
        return not torch.equal(before, after.detach()) and not bool(
            torch.isnan(before).any()
            and torch.equal(before.nan_to_num(), after.detach().nan_to_num())
        )
    if isinstance(after, (list, tuple)):
        return len(before) != len(after) or any(map(changed, before, after))
    if isinstance(after, dict):
        return any(changed(before.get(key), item) for key, item in after.items())
    return False


def snapshot_arguments(args: tuple, kwargs: dict) -> tuple[list, dict]:
    """Snapshots of every positional and keyword argument."""
    return [snapshot(arg) for arg in args], {key: snapshot(arg) for key, arg in kwargs.items()}


def changed_argument(before: tuple, args: tuple, kwargs: dict) -> Any:
    """The position (int) or keyword (str) of the first argument changed since ``before``."""
    before_args, before_kwargs = before
    for position, (saved, arg) in enumerate(zip(before_args, args, strict=True)):
        if changed(saved, arg):
            return position
    for key, saved in before_kwargs.items():
        if changed(saved, kwargs[key]):
            return key
    return None
