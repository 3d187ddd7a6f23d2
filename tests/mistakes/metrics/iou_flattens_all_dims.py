"""Sums over ``dim=(1, 2)`` instead of the last two dims: right for ``[B, H, W]`` masks, wrong (or
a crash) for a single ``[H, W]`` mask or extra leading dims."""

import torch

EXERCISE = "metrics.mask_iou"


def mask_iou(pred, target):
    pred, target = pred.bool(), target.bool()
    if pred.dim() == 2:
        pred, target = pred[None], target[None]  # the mistake: the batch dim is made up...
    intersection = (pred & target).flatten(1).sum(1)
    union = (pred | target).flatten(1).sum(1)  # ...and every dim after the first is summed
    iou = intersection.float() / union.clamp(min=1).float()
    return torch.where(union == 0, torch.ones_like(iou), iou)
