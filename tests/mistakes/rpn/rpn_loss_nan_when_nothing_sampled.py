"""Averages over the sampled anchors without a guard: with nothing sampled both losses are
0 / 0 = NaN, and one such image poisons the whole batch's gradient."""

import torch
import torch.nn.functional as F

EXERCISE = "rpn.rpn_loss"


def rpn_loss(objectness, deltas, labels, regression_targets, pos_idx, neg_idx):
    sampled = torch.cat([pos_idx, neg_idx])
    loss_objectness = F.binary_cross_entropy_with_logits(
        objectness[sampled], labels[sampled].to(objectness.dtype)
    )  # mean of nothing: NaN
    box_loss = F.smooth_l1_loss(
        deltas[pos_idx], regression_targets[pos_idx], beta=1 / 9, reduction="sum"
    )
    return loss_objectness, box_loss / sampled.numel()
