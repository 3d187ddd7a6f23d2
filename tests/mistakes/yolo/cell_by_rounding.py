"""Rounds centre / stride to the nearest cell instead of taking the floor: a centre in a cell's right half goes to the next cell."""

import torch

from solutions import yolo

EXERCISE = "yolo.grid_targets"
ORIGINAL = yolo.grid_targets


def grid_targets(boxes, labels, grid_size, stride, anchors):
    shift = torch.tensor([stride / 2, stride / 2, stride / 2, stride / 2], dtype=boxes.dtype)
    moved = ORIGINAL(boxes + shift, labels, grid_size, stride, anchors)
    return moved
