"""Hypothesis strategies shared by the checks: valid, bounded boxes, masks and images.

Every strategy is built with ``st.composite`` and draws small integers that are turned into
tensors, so shrinking gives short, readable counterexamples (a box of width 1 at the origin,
a 2x2 mask) rather than long float noise.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import Tensor


@st.composite
def boxes(
    draw: st.DrawFn,
    min_count: int = 1,
    max_count: int = 8,
    canvas: int = 64,
    min_side: int = 1,
) -> Tensor:
    """Boxes ``Tensor[N, 4]`` float32 ``(x1, y1, x2, y2)`` on an integer grid inside a canvas.

    Each box has width and height of at least ``min_side`` pixels, so its area is positive.
    """
    count = draw(st.integers(min_count, max_count))
    rows = []
    for _ in range(count):
        x1 = draw(st.integers(0, canvas - min_side))
        y1 = draw(st.integers(0, canvas - min_side))
        x2 = draw(st.integers(x1 + min_side, canvas))
        y2 = draw(st.integers(y1 + min_side, canvas))
        rows.append([x1, y1, x2, y2])
    return torch.tensor(rows, dtype=torch.float32).reshape(count, 4)


@st.composite
def masks(
    draw: st.DrawFn,
    batch: int | None = None,
    max_batch: int = 4,
    max_side: int = 12,
    allow_empty: bool = True,
) -> Tensor:
    """Binary masks ``Tensor[B, H, W]`` (bool) of a few small sizes.

    The pixels come from a drawn bit pattern; with ``allow_empty=False`` every mask has at least
    one pixel set.
    """
    batch = batch if batch is not None else draw(st.integers(1, max_batch))
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    pixels = draw(
        st.lists(st.booleans(), min_size=batch * height * width, max_size=batch * height * width)
    )
    result = torch.tensor(pixels, dtype=torch.bool).reshape(batch, height, width)
    if not allow_empty:
        result[:, 0, 0] |= ~result.flatten(1).any(dim=1)
    return result


@st.composite
def mask_pairs(draw: st.DrawFn, allow_empty: bool = True) -> tuple[Tensor, Tensor]:
    """Two mask batches ``Tensor[B, H, W]`` of the same shape (prediction, target)."""
    first = draw(masks(allow_empty=allow_empty))
    count = first.numel()
    pixels = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    second = torch.tensor(pixels, dtype=torch.bool).reshape(first.shape)
    if not allow_empty:
        second[:, 0, 0] |= ~second.flatten(1).any(dim=1)
    return first, second
