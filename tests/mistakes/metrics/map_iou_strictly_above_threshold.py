"""A detection must beat the IoU threshold strictly (> instead of >=): IoU exactly 0.5 is a miss."""

from solutions import metrics

EXERCISE = "metrics.mean_average_precision"
ORIGINAL = metrics.mean_average_precision


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    return ORIGINAL(detections, ground_truths, iou_threshold + 1e-6, num_classes=num_classes)
