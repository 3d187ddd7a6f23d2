"""Dice without the factor 2 in the numerator."""

import torch

EXERCISE = "metrics.dice_coefficient"


def dice_coefficient(pred, target):
    pred, target = pred.bool(), target.bool()
    intersection = (pred & target).sum(dim=(-2, -1)).float()
    total = (pred.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))).float()
    return torch.where(total == 0, torch.ones_like(total), intersection / total.clamp(min=1))
