"""The weights are ignored, so the head's (10, 10, 5, 5) targets come out 10x and 5x too small."""

from solutions.rpn import encode_boxes as _reference

EXERCISE = "rpn.encode_boxes"


def encode_boxes(gt_boxes, anchors, weights=(1.0, 1.0, 1.0, 1.0)):
    return _reference(gt_boxes, anchors)
