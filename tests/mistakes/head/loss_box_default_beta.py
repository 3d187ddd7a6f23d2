"""Uses ``F.smooth_l1_loss`` with its default ``beta=1`` instead of Fast R-CNN's ``beta=1/9``."""

import torch
import torch.nn.functional as F

EXERCISE = "head.fast_rcnn_loss"


def fast_rcnn_loss(class_logits, box_regression, labels, regression_targets):
    loss_classifier = F.cross_entropy(class_logits, labels)
    positive = torch.nonzero(labels > 0).squeeze(1)
    deltas = box_regression.reshape(len(labels), -1, 4)[positive, labels[positive]]
    loss_box = F.smooth_l1_loss(deltas, regression_targets[positive], reduction="sum")
    return loss_classifier, loss_box / labels.numel()
