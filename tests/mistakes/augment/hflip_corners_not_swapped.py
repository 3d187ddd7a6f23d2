"""Each x mapped to W - x in place: x1' = W - x1 > x2' = W - x2, a box inside out."""

import torch

EXERCISE = "augment.hflip"


def hflip(image, mask, boxes):
    width = image.shape[-1]
    flipped = torch.stack(
        [width - boxes[:, 0], boxes[:, 1], width - boxes[:, 2], boxes[:, 3]], dim=1
    )
    return image.flip(-1), mask.flip(-1), flipped
