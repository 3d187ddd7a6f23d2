"""y flipped with the image's width instead of its height (right only for square images)."""

import torch

EXERCISE = "augment.vflip"


def vflip(image, mask, boxes):
    width = image.shape[-1]
    flipped = torch.stack(
        [boxes[:, 0], width - boxes[:, 3], boxes[:, 2], width - boxes[:, 1]], dim=1
    )
    return image.flip(-2), mask.flip(-2), flipped
