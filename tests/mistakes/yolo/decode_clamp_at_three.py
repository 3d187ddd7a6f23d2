"""Clamps tw, th at 3.0 instead of log(1000 / 16): boxes larger than about 20 anchors are cut short."""

from solutions import yolo

EXERCISE = "yolo.decode_grid"
ORIGINAL = yolo.decode_grid


def decode_grid(predictions, stride, anchors, image_size):
    saved = yolo.SIZE_CLAMP
    yolo.SIZE_CLAMP = 3.0
    try:
        return ORIGINAL(predictions, stride, anchors, image_size)
    finally:
        yolo.SIZE_CLAMP = saved
