"""No input checks: [N, 5] boxes (with a batch index in front) are silently cut to four columns, and mismatched scores are not reported."""

from solutions import rpn

EXERCISE = "rpn.nms"
ORIGINAL = rpn.nms


def nms(boxes, scores, iou_threshold):
    scores = scores.reshape(-1)[: len(boxes)]
    if len(scores) < len(boxes):
        boxes = boxes[: len(scores)]
    return ORIGINAL(boxes[:, :4], scores, iou_threshold)
