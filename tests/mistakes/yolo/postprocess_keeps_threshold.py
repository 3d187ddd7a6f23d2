"""Keeps scores equal to score_thresh (>= instead of >)."""

from solutions import yolo

EXERCISE = "yolo.yolo_postprocess"
ORIGINAL = yolo.yolo_postprocess


def yolo_postprocess(
    boxes, scores, labels, score_thresh=0.05, nms_thresh=0.5, detections_per_img=100
):
    return ORIGINAL(boxes, scores, labels, score_thresh - 1e-6, nms_thresh, detections_per_img)
