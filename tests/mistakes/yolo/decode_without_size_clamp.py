"""Decodes sizes as anchor * exp(t) with no clamp: a large t gives a box thousands of pixels wide (or inf)."""

import math

from solutions import yolo

EXERCISE = "yolo.decode_grid"
ORIGINAL = yolo.decode_grid


def decode_grid(predictions, stride, anchors, image_size):
    saved = yolo.SIZE_CLAMP
    yolo.SIZE_CLAMP = math.inf  # the clamp removed
    try:
        return ORIGINAL(predictions, stride, anchors, image_size)
    finally:
        yolo.SIZE_CLAMP = saved
