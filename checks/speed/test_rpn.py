"""Speed of lesson 6's anchors, box coding and NMS against torchvision's (graded apart)."""

from __future__ import annotations

import functools

import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

from checks.harness import exercise
from checks.speed.test_metrics import random_boxes
from checks.speed.timing import Speed, expect_fast, same_tensor

STRIDE = 16
SIZES, RATIOS = (128, 256, 512), (0.5, 1.0, 2.0)


def _map(n: int) -> tuple[int, int]:
    return (n, n + n // 3)  # (H', W'): a landscape feature map


@functools.lru_cache(maxsize=4)
def _anchor_generator(feature_size: tuple[int, int], stride: int) -> tuple:
    """torchvision's generator and inputs for one map, built once (not timed)."""
    height, width = feature_size
    size = (height * stride, width * stride)
    images = ImageList(torch.zeros(1, 3, *size), [size])
    return AnchorGenerator((SIZES,), (RATIOS,)), images, [torch.zeros(1, 1, height, width)]


def _torchvision_anchors(feature_size: tuple[int, int], stride: int) -> torch.Tensor:
    generator, images, feature_maps = _anchor_generator(feature_size, stride)
    return generator(images, feature_maps)[0]


def _anchors(n: int) -> tuple:
    return (_map(n), STRIDE)


def _coding(n: int) -> tuple:
    anchors = random_boxes(n, 2)
    boxes = random_boxes(n, 3)
    return boxes, anchors


def _deltas(n: int) -> tuple:
    generator = torch.Generator().manual_seed(4)
    return torch.randn(n, 4, generator=generator) * 0.5, random_boxes(n, 5)


def _nms(n: int) -> tuple:
    generator = torch.Generator().manual_seed(6)
    return random_boxes(n, 7), torch.rand(n, generator=generator), 0.5


CODER = BoxCoder((1.0, 1.0, 1.0, 1.0))

ANCHORS = Speed(
    exercise="rpn.generate_anchors",
    inputs=_anchors,
    size=80,
    small=8,
    exponent=2,
    reference=_torchvision_anchors,
    same=same_tensor(1e-3),
    loop=(
        "a Python loop over the feature-map positions. Build the A anchors of one position"
        " once, then add every position's shift in one broadcast ([H'*W', 1, 4] + [1, A, 4])."
    ),
    what="an 80 x 106 feature map (76,320 anchors)",
)

ENCODE = Speed(
    exercise="rpn.encode_boxes",
    inputs=_coding,
    size=50_000,
    small=500,
    exponent=1,
    reference=lambda boxes, anchors: CODER.encode_single(boxes, anchors),
    same=same_tensor(1e-3),
    loop=(
        "a Python loop over the boxes. Every box is independent: write the formula once on"
        " whole columns (boxes[:, 2] - boxes[:, 0], ...) and stack the four results."
    ),
    what="50,000 boxes and anchors",
)

DECODE = Speed(
    exercise="rpn.decode_boxes",
    inputs=_deltas,
    size=50_000,
    small=500,
    exponent=1,
    reference=lambda deltas, anchors: CODER.decode_single(deltas, anchors),
    same=same_tensor(1e-2),
    loop=(
        "a Python loop over the boxes. Every box is independent: write the formula once on"
        " whole columns (deltas[:, 0] * widths, ...) and stack the four results."
    ),
    what="50,000 deltas and anchors",
)

NMS = Speed(
    exercise="rpn.nms",
    inputs=_nms,
    size=2000,
    small=200,
    exponent=2,
    reference=torchvision.ops.nms,
    same=lambda ours, theirs: isinstance(ours, torch.Tensor) and torch.equal(ours.long(), theirs),
    loop=(
        "a Python loop over pairs of boxes. Loop only over the boxes you keep: for each, the IoU"
        " with every remaining box in one box_iou call (or the whole IoU matrix once), then"
        " drop the suppressed ones with a mask."
    ),
    what="2000 scattered boxes",
)


@exercise("rpn.generate_anchors.speed", points=1, timeout=30)
def test_generate_anchors_is_about_as_fast_as_torchvision():
    """generate_anchors on an 80 x 106 map takes at most 20x torchvision's AnchorGenerator."""
    expect_fast(ANCHORS)


@exercise("rpn.encode_boxes.speed", points=1, timeout=30)
def test_encode_boxes_is_about_as_fast_as_torchvision():
    """encode_boxes of 50,000 boxes takes at most 20x torchvision's BoxCoder."""
    expect_fast(ENCODE)


@exercise("rpn.decode_boxes.speed", points=1, timeout=30)
def test_decode_boxes_is_about_as_fast_as_torchvision():
    """decode_boxes of 50,000 deltas takes at most 20x torchvision's BoxCoder."""
    expect_fast(DECODE)


@exercise("rpn.nms.speed", points=1, timeout=30)
def test_nms_is_about_as_fast_as_torchvision():
    """nms of 2000 boxes takes at most 20x torchvision.ops.nms (no loop over pairs)."""
    expect_fast(NMS)
