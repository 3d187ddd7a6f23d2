"""randint(0, H - h) excludes its upper end: the window never touches the bottom or right edge."""

import torch

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    height, width = image.shape[-2:]
    crop_height, crop_width = size
    top = int(torch.randint(0, max(height - crop_height, 1), (1,), generator=generator))
    left = int(torch.randint(0, max(width - crop_width, 1), (1,), generator=generator))
    offset = torch.tensor([left, top, left, top], dtype=boxes.dtype)
    limit = torch.tensor([crop_width, crop_height, crop_width, crop_height], dtype=boxes.dtype)
    shifted = (boxes - offset).clamp(min=torch.zeros_like(limit), max=limit)
    has_area = (shifted[:, 2] > shifted[:, 0]) & (shifted[:, 3] > shifted[:, 1])
    kept = has_area.nonzero().flatten()
    window = (slice(top, top + crop_height), slice(left, left + crop_width))
    return image[:, window[0], window[1]], mask[window], shifted[kept], kept
