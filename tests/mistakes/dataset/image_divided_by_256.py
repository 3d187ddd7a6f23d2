"""Scales bytes by 1/256: white becomes 0.996 instead of 1.0 (every value 0.4% too dark)."""

import solutions.dataset as dataset

_original = dataset.load_segmentation_pair

EXERCISE = "dataset.load_segmentation_pair"


def load_segmentation_pair(image_path, mask_path, size):
    image, mask = _original(image_path, mask_path, size)
    return image * 255 / 256, mask
