"""Regresses log(w / stride) instead of log(w / anchor width): the size target ignores the anchor."""

import torch

from solutions import yolo

EXERCISE = "yolo.grid_targets"
ORIGINAL = yolo.grid_targets


def grid_targets(boxes, labels, grid_size, stride, anchors):
    result = ORIGINAL(boxes, labels, grid_size, stride, anchors)
    row, column, anchor = result["responsible"].nonzero(as_tuple=True)
    sizes = result["log_sizes"].clone()
    sizes[row, column, anchor] += torch.log(anchors.to(sizes)[anchor] / stride)
    return {**result, "log_sizes": sizes}
