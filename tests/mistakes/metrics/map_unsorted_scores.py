"""Ranks detections in the order they were given instead of by decreasing score."""

import torch

from solutions import metrics

EXERCISE = "metrics.mean_average_precision"
ORIGINAL = metrics.mean_average_precision


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    # replacing every score by a constant keeps the given order (stable sort) and hides the ranking
    flattened = [dict(d, scores=torch.ones_like(d["scores"])) for d in detections]
    return ORIGINAL(flattened, ground_truths, iou_threshold, num_classes=num_classes)
