"""Drops every box less than one pixel wide or high after the crop (``x2 - x1 >= 1``): a thin
object that is still in the window loses its box."""

import solutions.augment as augment

_original = augment.random_crop

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    image, mask, cropped, kept = _original(image, mask, boxes, size, generator)
    wide = ((cropped[:, 2] - cropped[:, 0]) >= 1) & ((cropped[:, 3] - cropped[:, 1]) >= 1)
    return image, mask, cropped[wide], kept[wide]
