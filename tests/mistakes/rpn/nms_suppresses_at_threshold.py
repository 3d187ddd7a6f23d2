"""Suppresses IoU >= threshold instead of > threshold (torchvision keeps a box at exactly the threshold)."""

import torch
import torchvision

EXERCISE = "rpn.nms"


def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    overlaps = torchvision.ops.box_iou(boxes[order], boxes[order]) >= iou_threshold
    keep = torch.ones(len(order), dtype=torch.bool)
    for i in range(len(order)):
        if keep[i]:
            keep[i + 1 :] &= ~overlaps[i, i + 1 :]
    return order[keep]
