"""Each box's best anchor by argmax: one anchor only, so tied best anchors are missed."""

import torch
import torchvision

EXERCISE = "rpn.assign_anchors"


def assign_anchors(anchors, gt_boxes, fg_iou=0.7, bg_iou=0.3):
    if gt_boxes.numel() == 0:
        return torch.zeros(len(anchors)), torch.full((len(anchors),), -1)
    iou = torchvision.ops.box_iou(gt_boxes, anchors)
    best_iou, matched_idx = iou.max(dim=0)
    labels = torch.full_like(best_iou, -1.0)
    labels[best_iou < bg_iou] = 0.0
    labels[best_iou >= fg_iou] = 1.0
    labels[iou.argmax(dim=1)] = 1.0
    return labels, matched_idx
