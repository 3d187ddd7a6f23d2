"""The VOC2007 11-point interpolation instead of the all-point area (VOC 2010+)."""

import torch

EXERCISE = "metrics.average_precision"


def average_precision(recall, precision):
    total = 0.0
    for level in torch.linspace(0, 1, 11):
        above = precision[recall >= level]
        total += float(above.max()) if len(above) else 0.0
    return total / 11
