"""Drops `difficult` ground truths before matching, so a detection of a difficult object becomes a false positive."""

from solutions import metrics

EXERCISE = "metrics.mean_average_precision"
ORIGINAL = metrics.mean_average_precision


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    kept = []
    for truth in ground_truths:
        easy = ~truth["difficult"] if "difficult" in truth else truth["labels"] >= 0
        kept.append({"boxes": truth["boxes"][easy], "labels": truth["labels"][easy]})
    return ORIGINAL(detections, kept, iou_threshold, num_classes=num_classes)
