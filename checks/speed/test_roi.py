"""Speed of lesson 7's RoI pooling and RoIAlign against torchvision's (graded apart).

The timed input has many RoIs and few channels: there a loop over RoIs (or over pixels) costs
far more than the pooling itself, while whole-tensor code keeps pace with torchvision.
"""

from __future__ import annotations

import torch
import torchvision

from checks.harness import exercise
from checks.speed.test_metrics import random_boxes
from checks.speed.timing import Speed, expect_fast, same_tensor


def _features_and_rois(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(8)
    features = torch.randn(2, 8, 38, 50, generator=generator)
    boxes = random_boxes(count, 9, size=560.0)  # inside a 608 x 800 image, mostly
    images = torch.randint(0, 2, (count, 1), generator=generator).to(boxes.dtype)
    return features, torch.cat([images, boxes], dim=1)


def _pool_inputs(count: int) -> tuple:
    return (*_features_and_rois(count), (7, 7), 1 / 16)


def _align_inputs(count: int) -> tuple:
    return (*_features_and_rois(count), (7, 7), 1 / 16, 2, True)


LOOP = (
    "a Python loop over the RoIs (or over bins and pixels inside each). Compute every RoI's"
    " bin edges (roi_pool) or sampling points (roi_align) as [K, ...] tensors at once, then"
    " gather from the map; a loop over the PH x PW bins or over the images of the batch is fine."
)

ROI_POOL = Speed(
    exercise="roi.roi_pool",
    inputs=_pool_inputs,
    size=1000,
    small=50,
    exponent=1,
    reference=torchvision.ops.roi_pool,
    same=same_tensor(1e-4),
    loop=LOOP,
    what="1000 RoIs on a [2, 8, 38, 50] map",
    bound=50.0,  # whole-tensor max pooling by gathering bins measures 8-26x here; loops, 400x+
)

ROI_ALIGN = Speed(
    exercise="roi.roi_align",
    inputs=_align_inputs,
    size=1000,
    small=50,
    exponent=1,
    reference=torchvision.ops.roi_align,
    same=same_tensor(1e-4),
    loop=LOOP,
    what="1000 RoIs on a [2, 8, 38, 50] map",
)


@exercise("roi.roi_pool.speed", points=1, timeout=30)
def test_roi_pool_is_about_as_fast_as_torchvision():
    """roi_pool of 1000 RoIs takes at most 50x torchvision.ops.roi_pool (no loop over RoIs)."""
    expect_fast(ROI_POOL)


@exercise("roi.roi_align.speed", points=1, timeout=30)
def test_roi_align_is_about_as_fast_as_torchvision():
    """roi_align of 1000 RoIs takes at most 20x torchvision.ops.roi_align (no loop over RoIs)."""
    expect_fast(ROI_ALIGN)
