"""Speed of lesson 3's box_iou against torchvision's (graded apart: metrics.box_iou.speed)."""

from __future__ import annotations

import torch
import torchvision

from checks.harness import exercise
from checks.speed.timing import Speed, expect_fast, same_tensor


def random_boxes(count: int, seed: int, size: float = 600.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    corner = torch.rand(count, 2, generator=generator) * size
    sides = torch.rand(count, 2, generator=generator) * 200 + 8
    return torch.cat([corner, corner + sides], dim=1)


BOX_IOU = Speed(
    exercise="metrics.box_iou",
    inputs=lambda n: (random_boxes(n, 0), random_boxes(n, 1)),
    size=1000,
    small=60,
    exponent=2,
    reference=torchvision.ops.box_iou,
    same=same_tensor(),
    loop=(
        "a Python loop over the pairs of boxes (`for i ...: for j ...:`). Broadcast instead:"
        " boxes1[:, None, :2] against boxes2[None, :, :2] gives every pair's corners at once."
    ),
    what="1000 x 1000 boxes",
)


@exercise("metrics.box_iou.speed", points=1, timeout=30)
def test_box_iou_is_about_as_fast_as_torchvision():
    """box_iou of 1000 x 1000 boxes takes at most 20x torchvision's time (no loop over pairs)."""
    expect_fast(BOX_IOU)
