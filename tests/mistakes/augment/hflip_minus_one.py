"""Boxes flipped with W - 1 - x (the pixel-index formula) instead of W - x: off by one."""

import torch

EXERCISE = "augment.hflip"


def hflip(image, mask, boxes):
    last = image.shape[-1] - 1
    flipped = torch.stack([last - boxes[:, 2], boxes[:, 1], last - boxes[:, 0], boxes[:, 3]], dim=1)
    return image.flip(-1), mask.flip(-1), flipped
