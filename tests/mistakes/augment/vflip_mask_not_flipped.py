"""The mask left as it was: image and boxes flipped, the segmentation label not."""

import torch

EXERCISE = "augment.vflip"


def vflip(image, mask, boxes):
    height = image.shape[-2]
    flipped = torch.stack(
        [boxes[:, 0], height - boxes[:, 3], boxes[:, 2], height - boxes[:, 1]], dim=1
    )
    return image.flip(-2), mask.clone(), flipped
