"""Boxes clipped to the window's place in the old image but not moved to its origin."""

import torch

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    height, width = image.shape[-2:]
    crop_height, crop_width = size
    top = int(torch.randint(0, height - crop_height + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - crop_width + 1, (1,), generator=generator))
    low = torch.tensor([left, top, left, top], dtype=boxes.dtype)
    high = low + torch.tensor([crop_width, crop_height, crop_width, crop_height], dtype=boxes.dtype)
    clipped = boxes.clamp(min=low, max=high)
    has_area = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    kept = has_area.nonzero().flatten()
    window = (slice(top, top + crop_height), slice(left, left + crop_width))
    return image[:, window[0], window[1]], mask[window], clipped[kept], kept
