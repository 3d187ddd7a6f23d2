"""Sizes read as (width, height) instead of (height, width): x scales with the heights."""

import torch

EXERCISE = "dataset.resize_boxes"


def resize_boxes(boxes, old_size, new_size):
    (old_width, old_height), (new_width, new_height) = old_size, new_size
    scale = torch.tensor([new_width / old_width, new_height / old_height] * 2, dtype=boxes.dtype)
    return boxes * scale
