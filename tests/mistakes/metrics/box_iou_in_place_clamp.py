"""Floors the caller's boxes in place (boxes1.floor_()) to "snap them to pixels" before the IoU."""

import torchvision

EXERCISE = "metrics.box_iou"


def box_iou(boxes1, boxes2):
    boxes1.floor_()
    return torchvision.ops.box_iou(boxes1, boxes2)
