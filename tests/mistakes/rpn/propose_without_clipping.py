"""Proposals not clipped to the image: boxes reach outside it and NMS sees the wrong overlaps."""

import torch

from solutions.rpn import decode_boxes, nms

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
    top_scores, top_idx = objectness.detach().topk(min(pre_nms_top_n, objectness.numel()))
    boxes = decode_boxes(deltas.detach()[top_idx], anchors[top_idx])
    scores = torch.sigmoid(top_scores)
    large = ((boxes[:, 2:] - boxes[:, :2]) >= min_size).all(dim=1)
    boxes, scores = boxes[large], scores[large]
    keep = nms(boxes, scores, nms_thresh)[:post_nms_top_n]
    return boxes[keep], scores[keep]
