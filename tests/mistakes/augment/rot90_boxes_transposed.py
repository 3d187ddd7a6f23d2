"""Boxes transposed (x and y swapped) instead of turned: right size, wrong place."""

import torch

EXERCISE = "augment.rot90"


def rot90(image, mask, boxes, k):
    turns = k % 4
    turned = boxes[:, [1, 0, 3, 2]] if turns % 2 else boxes.clone()
    return torch.rot90(image, turns, dims=(-2, -1)), torch.rot90(mask, turns, dims=(-2, -1)), turned
