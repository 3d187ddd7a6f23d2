"""Builds the scale as a float32 tensor whatever the boxes' dtype: float64 boxes are scaled by a
rounded factor (or come back float32 when the product is taken the other way round)."""

import torch

EXERCISE = "dataset.resize_boxes"


def resize_boxes(boxes, old_size, new_size):
    (old_height, old_width), (new_height, new_width) = old_size, new_size
    scale = torch.tensor([new_width / old_width, new_height / old_height] * 2)  # float32
    return (boxes * scale).to(torch.promote_types(boxes.dtype, torch.float32))
