"""Flattens everything after the first dim: a single ``[H, W]`` mask is taken as H samples of
one row each, and ``[A, B, H, W]`` masks as A samples."""

import torch

EXERCISE = "metrics.dice_coefficient"


def dice_coefficient(pred, target):
    pred, target = pred.bool().flatten(1), target.bool().flatten(1)
    intersection = (pred & target).sum(1).float()
    total = (pred.sum(1) + target.sum(1)).float()
    dice = 2 * intersection / total.clamp(min=1)
    return torch.where(total == 0, torch.ones_like(dice), dice)
