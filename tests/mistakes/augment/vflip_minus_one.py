"""Boxes flipped with H - 1 - y instead of H - y: off by one."""

import torch

EXERCISE = "augment.vflip"


def vflip(image, mask, boxes):
    last = image.shape[-2] - 1
    flipped = torch.stack([boxes[:, 0], last - boxes[:, 3], boxes[:, 2], last - boxes[:, 1]], dim=1)
    return image.flip(-2), mask.flip(-2), flipped
