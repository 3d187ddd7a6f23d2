"""The pixels flipped along the rows (dim -2): a vertical flip, while the boxes flip horizontally."""

import torch

EXERCISE = "augment.hflip"


def hflip(image, mask, boxes):
    width = image.shape[-1]
    flipped = torch.stack(
        [width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1
    )
    return image.flip(-2), mask.flip(-2), flipped
