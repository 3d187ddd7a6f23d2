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
    """Final detections of one image: threshold, per-class NMS, the best few.

    Keeps boxes scoring *above* ``score_thresh`` and at least ``MIN_BOX_SIZE`` wide and high,
    runs lesson 6's ``nms`` per class (a box never suppresses one of another class), and keeps
    the ``detections_per_img`` best, by decreasing score.

    Args:
        boxes: Tensor[N, 4] decoded boxes.
        scores: Tensor[N].
        labels: Tensor[N] int64.
        score_thresh: smallest score kept (exclusive).
        nms_thresh: IoU above which a lower-scored box of the same class is suppressed.
        detections_per_img: most detections returned.

    Returns:
        ``(boxes [D, 4], scores [D], labels [D])`` with ``D <= detections_per_img``; ``D = 0``
        when nothing is left.
    """
    sides = boxes[:, 2:] - boxes[:, :2]  # [N, 2]
    keep = scores > score_thresh
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    # per-class NMS in one call: shift each class to its own region so classes never overlap
    offsets = labels.to(boxes.dtype) * (boxes.max() + 1 if len(boxes) else 0)  # [D]
    keep = nms(boxes + offsets[:, None], scores, nms_thresh)
    sides = boxes[keep, 2:] - boxes[keep, :2]
    keep = keep[(sides >= MIN_BOX_SIZE).all(dim=1)][:detections_per_img]
    return boxes[keep], scores[keep], labels[keep]
