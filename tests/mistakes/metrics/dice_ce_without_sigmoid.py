"""Soft Dice computed on raw logits (no sigmoid), so "probabilities" can be negative or above 1."""

import torch.nn.functional as F

EXERCISE = "metrics.dice_ce_loss"


def dice_ce_loss(logits, target, smooth=1e-5):
    target = target.to(logits.dtype)
    intersection = (logits * target).sum(dim=(-2, -1))
    total = logits.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    dice_loss = 1 - (2 * intersection + smooth) / (total + smooth)
    return dice_loss.mean() + F.binary_cross_entropy_with_logits(logits, target)
