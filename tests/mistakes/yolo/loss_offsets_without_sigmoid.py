"""Compares the raw tx, ty with the offsets, where decoding uses sigmoid(tx), sigmoid(ty)."""

import torch

from solutions import yolo

EXERCISE = "yolo.yolo_loss"
ORIGINAL = yolo.yolo_loss


def yolo_loss(predictions, targets, lambda_coord=5.0, lambda_noobj=0.5):
    inverse = predictions.clone()
    inverse[..., :2] = torch.logit(
        predictions[..., :2].clamp(1e-6, 1 - 1e-6)
    )  # sigmoid(logit(t)) = t
    return ORIGINAL(inverse, targets, lambda_coord, lambda_noobj)
