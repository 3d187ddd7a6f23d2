"""Boxes shifted into the window but not clipped to it: they stick out of the crop."""

import torch

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    height, width = image.shape[-2:]
    crop_height, crop_width = size
    top = int(torch.randint(0, height - crop_height + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - crop_width + 1, (1,), generator=generator))
    shifted = boxes - torch.tensor([left, top, left, top], dtype=boxes.dtype)
    inside = (
        (shifted[:, 2] > 0)
        & (shifted[:, 0] < crop_width)
        & (shifted[:, 3] > 0)
        & (shifted[:, 1] < crop_height)
    )
    kept = inside.nonzero().flatten()
    window = (slice(top, top + crop_height), slice(left, left + crop_width))
    return image[:, window[0], window[1]], mask[window], shifted[kept], kept
