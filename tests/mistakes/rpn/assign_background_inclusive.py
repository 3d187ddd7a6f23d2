"""Background where IoU <= bg_iou: an anchor at exactly 0.3 should be ignored, not negative."""

import torch
import torchvision

EXERCISE = "rpn.assign_anchors"


def assign_anchors(anchors, gt_boxes, fg_iou=0.7, bg_iou=0.3):
    if gt_boxes.numel() == 0:
        return torch.zeros(len(anchors)), torch.full((len(anchors),), -1)
    iou = torchvision.ops.box_iou(gt_boxes, anchors)
    best_iou, matched_idx = iou.max(dim=0)
    labels = torch.full_like(best_iou, -1.0)
    labels[best_iou <= bg_iou] = 0.0
    labels[best_iou >= fg_iou] = 1.0
    best_for_gt = iou.max(dim=1, keepdim=True).values
    labels[((iou == best_for_gt) & (best_for_gt > 0)).any(dim=0)] = 1.0
    return labels, matched_idx
