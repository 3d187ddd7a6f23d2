"""Anchors centred on cell centres ((x + 0.5) * stride): sensible, but not torchvision's grid."""

import torch

from solutions.rpn import generate_anchors as _reference

EXERCISE = "rpn.generate_anchors"


def generate_anchors(feature_size, stride, sizes=(128, 256, 512), ratios=(0.5, 1.0, 2.0)):
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else stride
    half = torch.tensor([stride_x, stride_y, stride_x, stride_y]) / 2
    return _reference(feature_size, stride, sizes, ratios) + half
