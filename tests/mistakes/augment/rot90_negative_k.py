"""k not taken modulo 4: for negative k the pixels turn (torch.rot90 accepts it) but the boxes do not."""

import torch

EXERCISE = "augment.rot90"


def rot90(image, mask, boxes, k):
    height, width = image.shape[-2:]
    turned = boxes.clone()
    for _ in range(k):
        x1, y1, x2, y2 = turned.unbind(dim=1)
        turned = torch.stack([y1, width - x2, y2, width - x1], dim=1)
        height, width = width, height
    return torch.rot90(image, k, dims=(-2, -1)), torch.rot90(mask, k, dims=(-2, -1)), turned
