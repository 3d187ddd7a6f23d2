"""Dice with an epsilon in the denominator only: two empty masks score 0 instead of 1."""

EXERCISE = "metrics.dice_coefficient"


def dice_coefficient(pred, target):
    pred, target = pred.float(), target.float()
    intersection = (pred * target).sum(dim=(-2, -1))
    total = pred.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    return 2 * intersection / (total + 1e-6)
