"""Boxes scaled in place (boxes *= scale): the caller's annotation changes under it."""

import torch

EXERCISE = "dataset.resize_boxes"


def resize_boxes(boxes, old_size, new_size):
    (old_height, old_width), (new_height, new_width) = old_size, new_size
    boxes *= torch.tensor([new_width / old_width, new_height / old_height] * 2, dtype=boxes.dtype)
    return boxes
