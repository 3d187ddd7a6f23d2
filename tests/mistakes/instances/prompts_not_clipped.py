"""Scales the boxes without clipping them to the image first: a detection that sticks out of the
image gives a prompt outside SAM's input."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given import sam
from solutions import instances

EXERCISE = "instances.boxes_to_prompts"


def boxes_to_prompts(boxes: Tensor, image_size: Sequence[int], input_size: int) -> Tensor:
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be Tensor[N, 4], got shape {tuple(boxes.shape)}")
    if len(image_size) != 2 or min(int(image_size[0]), int(image_size[1])) <= 0:
        raise ValueError(f"image_size must be (H, W) with H, W > 0, got {tuple(image_size)}")
    if int(input_size) <= 0:
        raise ValueError(f"input_size must be > 0, got {input_size}")
    height, width, side = int(image_size[0]), int(image_size[1]), int(input_size)
    boxes = boxes if boxes.is_floating_point() else boxes.float()  # [N, 4] float
    x = boxes[:, 0::2] * (side / width)  # [N, 2]: x1, x2 in input px
    y = boxes[:, 1::2] * (side / height)  # [N, 2]: y1, y2 in input px
    return torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)  # [N, 4]
