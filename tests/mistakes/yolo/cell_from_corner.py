"""Puts each box in the cell of its top-left corner instead of the cell of its centre."""

import torch

from solutions import yolo

EXERCISE = "yolo.grid_targets"
ORIGINAL = yolo.grid_targets


def grid_targets(boxes, labels, grid_size, stride, anchors):
    sizes = boxes[:, 2:] - boxes[:, :2]
    shifted = torch.cat([boxes[:, :2] - sizes / 2, boxes[:, :2] + sizes / 2], dim=1)
    return ORIGINAL(shifted, labels, grid_size, stride, anchors)
