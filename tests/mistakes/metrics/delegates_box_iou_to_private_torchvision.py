"""box_iou from torchvision's private _box_inter_union (the from-scratch rule gives 0)."""

from torchvision.ops.boxes import _box_inter_union

EXERCISE = "metrics.box_iou"


def box_iou(boxes1, boxes2):
    inter, union = _box_inter_union(boxes1.float(), boxes2.float())
    return inter / union
