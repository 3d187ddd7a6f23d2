"""Greedy matching that lets two detections claim the same ground truth."""

import torch

from solutions import metrics

EXERCISE = "metrics.mean_average_precision"


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    ap = {}
    for class_id in range(1, num_classes + 1):
        scores, hits, total = [], [], 0
        for detection, truth in zip(detections, ground_truths, strict=True):
            truth_boxes = truth["boxes"][truth["labels"] == class_id]
            keep = detection["labels"] == class_id
            total += len(truth_boxes)
            if not keep.any():
                continue
            scores.append(detection["scores"][keep])
            if len(truth_boxes):
                hits.append(
                    metrics.box_iou(detection["boxes"][keep], truth_boxes).max(1).values
                    >= iou_threshold
                )
            else:
                hits.append(torch.zeros(int(keep.sum()), dtype=torch.bool))
        if total == 0:
            continue
        if not scores:
            ap[class_id] = 0.0
            continue
        order = torch.cat(scores).argsort(descending=True)
        true_positives = torch.cat(hits)[order].float().cumsum(0)
        ranks = torch.arange(1, len(order) + 1)
        ap[class_id] = metrics.average_precision(true_positives / total, true_positives / ranks)
    return {"map": sum(ap.values()) / max(len(ap), 1), "ap": ap}
