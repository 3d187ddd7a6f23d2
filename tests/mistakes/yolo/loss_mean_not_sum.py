"""Averages each term over its anchors (reduction='mean') instead of summing over cells and averaging over images."""

import torch
import torch.nn.functional as F

EXERCISE = "yolo.yolo_loss"


def yolo_loss(predictions, targets, lambda_coord=5.0, lambda_noobj=0.5):
    responsible = targets["responsible"]
    chosen, others = predictions[responsible], predictions[~responsible]
    zero = predictions.sum() * 0
    if len(chosen):
        box = F.mse_loss(torch.sigmoid(chosen[:, :2]), targets["offsets"][responsible])
        box = box + F.mse_loss(chosen[:, 2:4], targets["log_sizes"][responsible])
        objectness = F.binary_cross_entropy_with_logits(chosen[:, 4], torch.ones_like(chosen[:, 4]))
        classes = F.cross_entropy(chosen[:, 5:], targets["labels"][responsible] - 1)
    else:
        box = objectness = classes = zero
    no_object = F.binary_cross_entropy_with_logits(others[:, 4], torch.zeros_like(others[:, 4]))
    return {"loss_box": lambda_coord * box, "loss_objectness": objectness,
            "loss_no_object": lambda_noobj * no_object, "loss_class": classes}  # fmt: skip
