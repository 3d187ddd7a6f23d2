"""min_size ignored: slivers a fraction of a pixel wide become proposals."""

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
    height, width = image_size
    boxes = torch.stack(
        [
            boxes[:, 0].clamp(0, width),
            boxes[:, 1].clamp(0, height),
            boxes[:, 2].clamp(0, width),
            boxes[:, 3].clamp(0, height),
        ],
        dim=1,
    )
    keep = nms(boxes, scores, nms_thresh)[:post_nms_top_n]
    return boxes[keep], scores[keep]
