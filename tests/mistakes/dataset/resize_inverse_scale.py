"""The scale upside down: old / new instead of new / old."""

import torch

EXERCISE = "dataset.resize_boxes"


def resize_boxes(boxes, old_size, new_size):
    (old_height, old_width), (new_height, new_width) = old_size, new_size
    scale = torch.tensor([old_width / new_width, old_height / new_height] * 2, dtype=boxes.dtype)
    return boxes * scale
