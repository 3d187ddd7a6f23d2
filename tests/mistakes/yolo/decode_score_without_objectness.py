"""Scores a box by its class probability alone, forgetting the objectness: empty cells score as high as objects."""

import torch

from solutions import yolo

EXERCISE = "yolo.decode_grid"
ORIGINAL = yolo.decode_grid


def decode_grid(predictions, stride, anchors, image_size):
    certain = predictions.clone()
    certain[..., 4] = 30.0  # sigmoid(30) = 1: objectness ignored
    return ORIGINAL(certain, stride, anchors, image_size)
