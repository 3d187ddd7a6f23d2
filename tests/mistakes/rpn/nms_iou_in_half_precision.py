"""Computes the IoUs of NMS itself in the boxes' dtype: in float16 the areas of large boxes overflow and nothing is suppressed."""

import torch

EXERCISE = "rpn.nms"


def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True, stable=True)
    boxes = boxes[order]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    top_left = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    iou = inter / (area[:, None] + area[None, :] - inter)
    keep = torch.ones(len(boxes), dtype=torch.bool)
    for i in range(len(boxes)):
        if keep[i]:
            later = torch.arange(len(boxes)) > i
            keep &= ~((iou[i] > iou_threshold) & later)
    return order[keep]
