"""Matches detections to ground truths of any class: a box in the right place but the wrong class counts."""

from solutions import metrics

EXERCISE = "metrics.mean_average_precision"
ORIGINAL = metrics.mean_average_precision


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    relabelled = []
    for detection, truth in zip(detections, ground_truths, strict=True):
        labels = detection["labels"].clone()
        if len(labels) and len(truth["boxes"]):
            best = metrics.box_iou(detection["boxes"], truth["boxes"]).argmax(1)
            labels = truth["labels"][best]
        relabelled.append(dict(detection, labels=labels))
    return ORIGINAL(relabelled, ground_truths, iou_threshold, num_classes=num_classes)
