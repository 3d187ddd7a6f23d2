"""Objectness loss over every labelled anchor instead of the sampled ones: negatives swamp it."""

import torch
import torch.nn.functional as F

EXERCISE = "rpn.rpn_loss"


def rpn_loss(objectness, deltas, labels, regression_targets, pos_idx, neg_idx):
    labelled = torch.where(labels >= 0)[0]
    sampled = torch.cat([pos_idx, neg_idx])
    loss_objectness = F.binary_cross_entropy_with_logits(
        objectness[labelled], labels[labelled].float()
    )
    box = F.smooth_l1_loss(
        deltas[pos_idx], regression_targets[pos_idx], beta=1 / 9, reduction="sum"
    )
    return loss_objectness, box / sampled.numel()
