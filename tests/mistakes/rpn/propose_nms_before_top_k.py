"""NMS over all anchors first, then the top pre_nms_top_n: pre_nms_top_n no longer limits NMS's input."""

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
    boxes = decode_boxes(deltas.detach(), anchors)
    scores = torch.sigmoid(objectness.detach())
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
    large = ((boxes[:, 2:] - boxes[:, :2]) >= min_size).all(dim=1)
    boxes, scores = boxes[large], scores[large]
    keep = nms(boxes, scores, nms_thresh)[:pre_nms_top_n][:post_nms_top_n]
    return boxes[keep], scores[keep]
