"""Makes an anchor positive only when its IoU is strictly above ``fg_iou`` (``>`` instead of
``>=``): an anchor exactly at the threshold is ignored instead."""

import torch

import solutions.rpn as rpn

EXERCISE = "rpn.assign_anchors"


def assign_anchors(anchors, gt_boxes, fg_iou=0.7, bg_iou=0.3):
    if gt_boxes.numel() == 0:
        labels = anchors.new_zeros(anchors.shape[0])
        return labels, torch.full_like(labels, -1, dtype=torch.int64)
    iou = rpn.box_iou(gt_boxes, anchors)
    best_iou, matched_idx = iou.max(dim=0)
    labels = torch.full_like(best_iou, -1.0)
    labels[best_iou < bg_iou] = 0.0
    labels[best_iou > fg_iou] = 1.0  # the mistake
    best_for_gt = iou.max(dim=1, keepdim=True).values
    labels[((iou == best_for_gt) & (best_for_gt > 0)).any(dim=0)] = 1.0
    return labels, matched_idx
