"""Width and height not swapped after each quarter turn: wrong from the second turn on."""

import torch

EXERCISE = "augment.rot90"


def rot90(image, mask, boxes, k):
    turns = k % 4
    width = image.shape[-1]
    turned = boxes.clone()
    for _ in range(turns):
        x1, y1, x2, y2 = turned.unbind(dim=1)
        turned = torch.stack([y1, width - x2, y2, width - x1], dim=1)
    return torch.rot90(image, turns, dims=(-2, -1)), torch.rot90(mask, turns, dims=(-2, -1)), turned
