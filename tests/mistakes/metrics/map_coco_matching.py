"""COCO's matching instead of the VOC devkit's: a detection whose best ground truth is taken falls back to the best still-unmatched one."""

import torch

from solutions import metrics

EXERCISE = "metrics.mean_average_precision"


def mean_average_precision(detections, ground_truths, iou_threshold=0.5, *, num_classes):
    ap_per_class = {}
    for class_id in range(1, num_classes + 1):
        scores, hits_per_image, positives = [], [], 0
        for detection, truth in zip(detections, ground_truths, strict=True):
            truth_boxes = truth["boxes"][truth["labels"] == class_id]
            keep = detection["labels"] == class_id
            boxes, class_scores = detection["boxes"][keep], detection["scores"][keep]
            positives += len(truth_boxes)
            order = class_scores.argsort(descending=True, stable=True)
            boxes, class_scores = boxes[order], class_scores[order]
            matched = torch.zeros(len(truth_boxes), dtype=torch.bool)
            hits = torch.zeros(len(boxes), dtype=torch.bool)
            if len(truth_boxes) and len(boxes):
                overlaps = metrics.box_iou(boxes, truth_boxes)
                for index in range(len(boxes)):
                    best_iou, best = overlaps[index].masked_fill(matched, -1.0).max(0)
                    if best_iou >= iou_threshold:
                        matched[best] = True
                        hits[index] = True
            scores.append(class_scores)
            hits_per_image.append(hits)
        if positives == 0:
            continue
        order = torch.cat(scores).argsort(descending=True, stable=True)
        hits = torch.cat(hits_per_image)[order].float()
        true_positives = hits.cumsum(0)
        ranks = torch.arange(1, len(hits) + 1, dtype=torch.float32)
        ap_per_class[class_id] = metrics.average_precision(
            true_positives / positives, true_positives / ranks
        )
    mean = sum(ap_per_class.values()) / len(ap_per_class) if ap_per_class else 0.0
    return {"map": mean, "ap": ap_per_class}
