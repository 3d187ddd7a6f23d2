"""Computes the box loss over the deltas of every class instead of only the true class's four."""

import torch
import torch.nn.functional as F

EXERCISE = "head.fast_rcnn_loss"


def fast_rcnn_loss(class_logits, box_regression, labels, regression_targets):
    loss_classifier = F.cross_entropy(class_logits, labels)
    positive = torch.nonzero(labels > 0).squeeze(1)
    deltas = box_regression.reshape(len(labels), -1, 4)[positive]  # [P, C, 4]: all classes
    targets = regression_targets[positive][:, None].expand_as(deltas)
    loss_box = F.smooth_l1_loss(deltas, targets, beta=1 / 9, reduction="sum")
    return loss_classifier, loss_box / labels.numel()
