"""NMS before the MIN_BOX_SIZE filter: a box too small to keep suppresses a good one."""

from __future__ import annotations

from solutions.yolo import MIN_BOX_SIZE, Tensor, nms

EXERCISE = "yolo.yolo_postprocess"


def yolo_postprocess(
    boxes: Tensor,
    scores: Tensor,
    labels: Tensor,
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
) -> tuple[Tensor, Tensor, Tensor]:
    sides = boxes[:, 2:] - boxes[:, :2]  # [N, 2]
    keep = scores > score_thresh
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    # per-class NMS in one call: shift each class to its own region so classes never overlap
    offsets = labels.to(boxes.dtype) * (boxes.max() + 1 if len(boxes) else 0)  # [D]
    keep = nms(boxes + offsets[:, None], scores, nms_thresh)
    sides = boxes[keep, 2:] - boxes[keep, :2]
    keep = keep[(sides >= MIN_BOX_SIZE).all(dim=1)][:detections_per_img]
    return boxes[keep], scores[keep], labels[keep]
