"""Boxes clipped but never dropped: objects outside the window stay as zero-area boxes."""

import torch

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    height, width = image.shape[-2:]
    crop_height, crop_width = size
    top = int(torch.randint(0, height - crop_height + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - crop_width + 1, (1,), generator=generator))
    shifted = boxes - torch.tensor([left, top, left, top], dtype=boxes.dtype)
    limit = torch.tensor([crop_width, crop_height, crop_width, crop_height], dtype=boxes.dtype)
    clipped = shifted.clamp(min=torch.zeros_like(limit), max=limit)
    window = (slice(top, top + crop_height), slice(left, left + crop_width))
    return image[:, window[0], window[1]], mask[window], clipped, torch.arange(len(boxes))
