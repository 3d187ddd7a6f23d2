"""Averages AP only over the classes that have detections: a class with ground truth that the
detector never predicts drops out of the mean instead of counting as AP 0."""

import solutions.metrics as metrics

_original = metrics.mean_average_precision

EXERCISE = "metrics.mean_average_precision"


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    result = _original(detections, ground_truths, iou_threshold, num_classes=num_classes)
    predicted = {int(label) for detection in detections for label in detection["labels"]}
    kept = {label: ap for label, ap in result["ap"].items() if label in predicted}
    return {"map": sum(kept.values()) / len(kept) if kept else 0.0, "ap": kept}
