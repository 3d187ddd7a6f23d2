"""Applies a softmax before ``F.cross_entropy`` (as a head ending in ``nn.Softmax`` does), which
applies log-softmax again: the loss is squashed and barely trains."""

import torch
import torch.nn.functional as F

EXERCISE = "head.fast_rcnn_loss"


def fast_rcnn_loss(class_logits, box_regression, labels, regression_targets):
    loss_classifier = F.cross_entropy(F.softmax(class_logits, dim=1), labels)
    positive = torch.nonzero(labels > 0).squeeze(1)
    deltas = box_regression.reshape(len(labels), -1, 4)[positive, labels[positive]]
    loss_box = F.smooth_l1_loss(deltas, regression_targets[positive], beta=1 / 9, reduction="sum")
    return loss_classifier, loss_box / labels.numel()
