"""Returns the loss as a detached number (``.item()`` wrapped back in a tensor): nothing can train."""

import torch

from solutions.metrics import dice_ce_loss as correct_dice_ce_loss

EXERCISE = "metrics.dice_ce_loss"


def dice_ce_loss(logits, target, smooth=1e-5):
    return torch.tensor(correct_dice_ce_loss(logits, target, smooth).item())
