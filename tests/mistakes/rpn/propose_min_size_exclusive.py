"""Keeps proposals whose sides are strictly larger than ``min_size`` (``>`` instead of
torchvision's ``>=``): a box exactly ``min_size`` wide is dropped."""

import torch

import solutions.rpn as rpn

EXERCISE = "rpn.propose"


def propose(anchors, objectness, deltas, image_size, pre_nms_top_n=6000, post_nms_top_n=300,
            nms_thresh=0.7, min_size=1e-3):  # fmt: skip
    objectness, deltas = objectness.detach(), deltas.detach()
    top_scores, top_idx = objectness.topk(min(pre_nms_top_n, objectness.numel()))
    boxes = rpn.decode_boxes(deltas[top_idx], anchors[top_idx])
    scores = torch.sigmoid(top_scores)
    height, width = image_size
    boxes = torch.stack(
        [boxes[:, 0].clamp(0, width), boxes[:, 1].clamp(0, height),
         boxes[:, 2].clamp(0, width), boxes[:, 3].clamp(0, height)], dim=1
    )  # fmt: skip
    large = ((boxes[:, 2:] - boxes[:, :2]) > min_size).all(dim=1)  # the mistake
    boxes, scores = boxes[large], scores[large]
    keep = rpn.nms(boxes, scores, nms_thresh)[:post_nms_top_n]
    return boxes[keep], scores[keep]
