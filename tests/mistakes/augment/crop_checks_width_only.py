"""Checks only the window's width against the image: a window taller than the image is cut
short by slicing (or fails in randint) instead of raising the documented ValueError."""

import torch

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    height, width = image.shape[-2:]
    crop_height, crop_width = size
    if crop_width > width:  # the mistake: the height is not checked
        raise ValueError(f"random_crop: window {tuple(size)} is larger than the image")
    top = int(torch.randint(0, max(height - crop_height, 0) + 1, (1,), generator=generator))
    left = int(torch.randint(0, width - crop_width + 1, (1,), generator=generator))
    offset = torch.tensor([left, top, left, top], dtype=boxes.dtype)
    limit = torch.tensor([crop_width, crop_height, crop_width, crop_height], dtype=boxes.dtype)
    shifted = (boxes - offset).clamp(min=torch.zeros_like(limit), max=limit)
    kept = ((shifted[:, 2] > shifted[:, 0]) & (shifted[:, 3] > shifted[:, 1])).nonzero().flatten()
    rows, columns = slice(top, top + crop_height), slice(left, left + crop_width)
    return image[..., rows, columns].clone(), mask[rows, columns].clone(), shifted[kept], kept
