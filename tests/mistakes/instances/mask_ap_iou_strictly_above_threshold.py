"""Matches only above the IoU threshold (>), so a detection at exactly IoU 0.5 is a false positive at
threshold 0.5."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given import sam
from solutions import instances

EXERCISE = "instances.mask_average_precision"


def mask_average_precision(
    detections: list[dict[str, Tensor]],
    ground_truths: list[dict[str, Tensor]],
    iou_threshold: float = 0.5,
    *,
    num_classes: int,
) -> dict[str, object]:
    if len(detections) != len(ground_truths):
        raise ValueError(
            f"{len(detections)} detection dicts but {len(ground_truths)} ground-truth dicts:"
            " pass one of each per image"
        )
    ap_per_class: dict[int, float] = {}
    for class_id in range(1, num_classes + 1):
        scores, outcomes = [], []  # per image: scores [D'], outcome [D'] (1 TP, 0 FP, -1 ignored)
        num_positives = 0  # non-difficult ground truths of the class, over all images
        for detection, truth in zip(detections, ground_truths, strict=True):
            of_class = truth["labels"] == class_id  # [G]
            truth_masks = truth["masks"][of_class]  # [G', H, W]
            difficult = truth.get("difficult", torch.zeros_like(truth["labels"], dtype=torch.bool))
            difficult = difficult[of_class].bool()  # [G']
            num_positives += int((~difficult).sum())
            keep = detection["labels"] == class_id  # [D]
            masks, class_scores = detection["masks"][keep], detection["scores"][keep]  # [D', H, W]
            order = class_scores.argsort(descending=True, stable=True)  # [D']
            masks, class_scores = masks[order], class_scores[order]
            outcome = torch.zeros(len(masks), dtype=torch.int64)  # [D']: FP unless matched below
            if len(truth_masks) and len(masks):
                ious = instances.mask_iou_matrix(masks, truth_masks)  # [D', G']
                best_iou, best = ious.max(dim=1)  # [D'] each: its best ground truth
                matched = torch.zeros(len(truth_masks), dtype=torch.bool)  # [G']
                for index in range(len(masks)):  # in decreasing score: a loop over one image
                    if best_iou[index] <= iou_threshold:
                        continue  # false positive
                    target = best[index]
                    if difficult[target]:
                        outcome[index] = -1  # ignored: neither TP nor FP
                    elif not matched[target]:
                        outcome[index] = 1
                        matched[target] = True
                    # else: its best ground truth is taken -> false positive (no fall-back)
            scores.append(class_scores.cpu())
            outcomes.append(outcome)
        if num_positives == 0:
            continue
        all_scores, all_outcomes = torch.cat(scores), torch.cat(outcomes)  # [D_class]
        counted = all_outcomes >= 0  # drop the ignored detections
        all_scores, all_outcomes = all_scores[counted], all_outcomes[counted]
        order = all_scores.argsort(descending=True, stable=True)  # [D_class]
        hits = all_outcomes[order].float()  # [D_class]: 1 TP, 0 FP, in rank order
        true_positives = hits.cumsum(0)  # [D_class]
        ranks = torch.arange(1, len(hits) + 1, dtype=torch.float32)  # [D_class]
        ap_per_class[class_id] = instances.metrics.average_precision(
            true_positives / num_positives, true_positives / ranks
        )
    mean = sum(ap_per_class.values()) / len(ap_per_class) if ap_per_class else 0.0
    return {"map": mean, "ap": ap_per_class}
