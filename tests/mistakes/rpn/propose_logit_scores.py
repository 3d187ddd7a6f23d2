"""Scores returned as logits instead of probabilities (no sigmoid)."""

import torch

from solutions.rpn import propose as _reference

EXERCISE = "rpn.propose"


def propose(
    anchors,
    objectness,
    deltas,
    image_size,
    pre_nms_top_n=6000,
    post_nms_top_n=300,
    nms_thresh=0.7,
    min_size=1e-3,
):
    boxes, scores = _reference(
        anchors, objectness, deltas, image_size, pre_nms_top_n, post_nms_top_n, nms_thresh, min_size
    )
    return boxes, torch.logit(scores)
