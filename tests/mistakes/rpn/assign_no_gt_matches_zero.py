"""Without ground truth, returns ``matched_idx`` 0 for every anchor (an index into an empty
tensor) instead of the documented -1."""

import torch

import solutions.rpn as rpn

_original_assign_anchors = rpn.assign_anchors  # before the graft replaces it

EXERCISE = "rpn.assign_anchors"


def assign_anchors(anchors, gt_boxes, fg_iou=0.7, bg_iou=0.3):
    if gt_boxes.numel() == 0:
        labels = anchors.new_zeros(anchors.shape[0])
        return labels, torch.zeros(anchors.shape[0], dtype=torch.int64)  # the mistake
    return _original_assign_anchors(anchors, gt_boxes, fg_iou, bg_iou)
