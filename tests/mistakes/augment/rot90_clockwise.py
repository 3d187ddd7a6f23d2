"""Pixels turned clockwise (dims reversed) while the boxes turn counterclockwise."""

import torch

EXERCISE = "augment.rot90"


def rot90(image, mask, boxes, k):
    turns = k % 4
    height, width = image.shape[-2:]
    turned = boxes.clone()
    for _ in range(turns):
        x1, y1, x2, y2 = turned.unbind(dim=1)
        turned = torch.stack([y1, width - x2, y2, width - x1], dim=1)
        height, width = width, height
    return torch.rot90(image, turns, dims=(-1, -2)), torch.rot90(mask, turns, dims=(-1, -2)), turned
