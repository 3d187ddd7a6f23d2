"""Box loss divided by the number of positives instead of the number sampled (torchvision's choice)."""

import torch
import torch.nn.functional as F

EXERCISE = "rpn.rpn_loss"


def rpn_loss(objectness, deltas, labels, regression_targets, pos_idx, neg_idx):
    sampled = torch.cat([pos_idx, neg_idx])
    loss_objectness = F.binary_cross_entropy_with_logits(
        objectness[sampled], labels[sampled].float()
    )
    box = F.smooth_l1_loss(
        deltas[pos_idx], regression_targets[pos_idx], beta=1 / 9, reduction="sum"
    )
    return loss_objectness, box / max(pos_idx.numel(), 1)
