"""Rounds the cropped boxes to whole pixels: sub-pixel coordinates (resized boxes, RoIs) move."""

import solutions.augment as augment

_original = augment.random_crop

EXERCISE = "augment.random_crop"


def random_crop(image, mask, boxes, size, generator=None):
    image, mask, cropped, kept = _original(image, mask, boxes.round(), size, generator)
    return image, mask, cropped, kept
