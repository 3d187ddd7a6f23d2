"""The no-object term runs over every anchor, responsible ones too, pushing real objects' objectness down."""

import torch
import torch.nn.functional as F

from solutions import yolo

EXERCISE = "yolo.yolo_loss"
ORIGINAL = yolo.yolo_loss


def yolo_loss(predictions, targets, lambda_coord=5.0, lambda_noobj=0.5):
    losses = ORIGINAL(predictions, targets, lambda_coord, lambda_noobj)
    objectness = predictions[..., 4].reshape(-1)
    every = F.binary_cross_entropy_with_logits(
        objectness, torch.zeros_like(objectness), reduction="sum"
    )
    return {**losses, "loss_no_object": lambda_noobj * every / predictions.shape[0]}
