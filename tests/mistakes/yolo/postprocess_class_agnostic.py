"""Runs one NMS over all classes: a box of one class suppresses an overlapping box of another."""

from solutions import yolo

EXERCISE = "yolo.yolo_postprocess"


def yolo_postprocess(
    boxes, scores, labels, score_thresh=0.05, nms_thresh=0.5, detections_per_img=100
):
    sides = boxes[:, 2:] - boxes[:, :2]
    keep = (scores > score_thresh) & (sides >= yolo.MIN_BOX_SIZE).all(dim=1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    keep = yolo.nms(boxes, scores, nms_thresh)[:detections_per_img]
    return boxes[keep], scores[keep], labels[keep]
