"""Lesson 3 — metrics: IoU, Dice, the DiceCE loss and mean average precision.

Segmentation is scored by overlap of masks (IoU, Dice) and trained with a loss that is a soft,
differentiable Dice plus binary cross-entropy. Detection is scored by IoU of boxes and by
average precision (AP): the area under the precision-recall curve of detections ranked by score.

Notation:
    B            batch size; masks are ``[B, H, W]`` (or just ``[H, W]``)
    N, M         numbers of boxes
    boxes        float ``[N, 4]`` as ``(x1, y1, x2, y2)`` in absolute pixels
    IoU(A, B)    |A ∩ B| / |A ∪ B|
    Dice(A, B)   2 |A ∩ B| / (|A| + |B|)  =  2 IoU / (1 + IoU)

Empty masks: when prediction and target are both empty, IoU and Dice are 1.0 (the prediction
is exactly right); when only one is empty they are 0.0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "average_precision",
    "box_iou",
    "dice_ce_loss",
    "dice_coefficient",
    "mask_iou",
    "mean_average_precision",
]


def mask_iou(pred: Tensor, target: Tensor) -> Tensor:
    """Intersection over union of binary masks, per sample.

    Args:
        pred: Tensor[..., H, W], bool or {0, 1} float — the predicted mask(s).
        target: Tensor[..., H, W], same shape — the ground-truth mask(s).

    Returns:
        Tensor[...] float32: IoU of each sample over its last two dims; 1.0 where both masks
        are empty.
    """
    pred, target = pred.bool(), target.bool()
    intersection = (pred & target).sum(dim=(-2, -1))
    union = (pred | target).sum(dim=(-2, -1))
    iou = intersection.float() / union.clamp(min=1).float()
    return torch.where(union == 0, torch.ones_like(iou), iou)


def dice_coefficient(pred: Tensor, target: Tensor) -> Tensor:
    """Dice coefficient (F1 score of the pixels) of binary masks, per sample.

    Args:
        pred: Tensor[..., H, W], bool or {0, 1} float — the predicted mask(s).
        target: Tensor[..., H, W], same shape — the ground-truth mask(s).

    Returns:
        Tensor[...] float32: ``2 |P ∩ T| / (|P| + |T|)`` over the last two dims; 1.0 where both
        masks are empty.
    """
    pred, target = pred.bool(), target.bool()
    intersection = (pred & target).sum(dim=(-2, -1))
    total = pred.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    dice = 2 * intersection.float() / total.clamp(min=1).float()
    return torch.where(total == 0, torch.ones_like(dice), dice)


def dice_ce_loss(logits: Tensor, target: Tensor, smooth: float = 1e-5) -> Tensor:
    """Soft Dice loss plus binary cross-entropy, both on logits, averaged over the batch.

    ``p = sigmoid(logits)``; per sample the soft Dice loss is
    ``1 - (2 Σ p·t + smooth) / (Σ p + Σ t + smooth)`` over the last two dims, and the
    cross-entropy is the mean over pixels of ``binary_cross_entropy_with_logits``.

    Args:
        logits: Tensor[B, H, W] (or [B, 1, H, W]) float — raw scores, before any sigmoid.
        target: Tensor of the same shape, {0, 1} float or bool — the ground-truth masks.
        smooth: keeps the Dice term defined (and equal to 0 loss) for empty masks.

    Returns:
        Tensor[] — mean over the batch of (Dice loss + cross-entropy); differentiable.
    """
    target = target.to(logits.dtype)
    probabilities = torch.sigmoid(logits)
    intersection = (probabilities * target).sum(dim=(-2, -1))  # [B] (or [B, 1])
    total = probabilities.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    dice_loss = 1 - (2 * intersection + smooth) / (total + smooth)
    cross_entropy = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return dice_loss.mean() + cross_entropy.mean()


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU of two sets of boxes.

    Boxes are ``(x1, y1, x2, y2)`` in continuous pixel-edge coordinates (pixel ``i`` spans
    ``[i, i + 1)``), so a box's area is ``(x2 - x1) * (y2 - y1)`` with no ``+ 1``.

    Args:
        boxes1: Tensor[N, 4] float, ``(x1, y1, x2, y2)`` with ``x2 >= x1`` and ``y2 >= y1``.
        boxes2: Tensor[M, 4] float, same format.

    Returns:
        Tensor[N, M]: IoU of every pair, in [0, 1]. Half-precision inputs (float16, bfloat16)
        are computed and returned in float32, as torchvision does: the area of a 256-pixel box
        already overflows float16. Other float dtypes are kept. ``N = 0`` or ``M = 0`` gives an
        empty ``[N, M]`` result.
    """
    half = (torch.float16, torch.bfloat16)  # areas overflow float16: compute in float32
    boxes1 = boxes1.float() if boxes1.dtype in half else boxes1  # [N, 4]
    boxes2 = boxes2.float() if boxes2.dtype in half else boxes2  # [M, 4]
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # [N]
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # [M]
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # [N, M, 2]
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # [N, M, 2]
    width_height = (bottom_right - top_left).clamp(min=0)  # no overlap -> 0, not negative
    intersection = width_height[..., 0] * width_height[..., 1]  # [N, M]
    union = area1[:, None] + area2[None, :] - intersection
    return intersection / union


def average_precision(recall: Tensor, precision: Tensor) -> float:
    """Area under the precision-recall curve, all-point interpolated (PASCAL VOC 2010+).

    The curve is extended with recall 0 and 1 (precision 0 there), precision is replaced by its
    running maximum from the right (the "envelope"), and the area is summed over the points
    where recall changes.

    Args:
        recall: Tensor[K], non-decreasing, in [0, 1] — recall after each ranked detection.
        precision: Tensor[K], in [0, 1] — precision after each ranked detection.

    Returns:
        AP in [0, 1] (0.0 for empty inputs).
    """
    zero = recall.new_zeros(1)
    recall = torch.cat([zero, recall, zero + 1])
    precision = torch.cat([zero, precision, zero])
    envelope = precision.flip(0).cummax(0).values.flip(0)  # max precision at recall >= r
    steps = recall[1:] - recall[:-1]
    return float((steps * envelope[1:]).sum())


def mean_average_precision(
    detections: list[dict[str, Tensor]],
    ground_truths: list[dict[str, Tensor]],
    iou_threshold: float = 0.5,
    *,
    num_classes: int,
) -> dict[str, object]:
    """Per-class AP and their mean over a dataset, matched as the PASCAL VOC devkit does.

    For each class, detections of all images are ranked by decreasing score (a stable sort:
    tied detections keep their order, image by image, then as given). In that order, each
    detection is compared with *every* ground truth of its class in its image and takes the one
    with the highest IoU (the first of equal IoUs):

    * if that IoU is below ``iou_threshold`` (or the image has no ground truth of the class), the
      detection is a false positive;
    * else, if that ground truth is ``difficult``, the detection is ignored (neither true nor
      false positive);
    * else, if that ground truth is still unmatched, the detection is a true positive and the
      ground truth becomes matched;
    * else (already matched by a higher-scoring detection) it is a false positive — it does *not*
      fall back to another ground truth. (COCO's rule does fall back to the best still-unmatched
      one; the two rules give different APs when a ground truth is claimed twice.)

    Recall counts the non-``difficult`` ground truths. AP is ``average_precision`` of the
    resulting curve.

    Args:
        detections: one dict per image: ``boxes`` Tensor[D, 4] (x1, y1, x2, y2, pixel edges),
            ``scores`` Tensor[D], ``labels`` Tensor[D] int in 1..num_classes.
        ground_truths: one dict per image (same order): ``boxes`` Tensor[G, 4], ``labels``
            Tensor[G] int in 1..num_classes, optionally ``difficult`` Tensor[G] bool (missing
            means none is difficult).
        iou_threshold: minimum IoU for a match (a detection at exactly this IoU matches).
        num_classes: number of object classes (class 0 is background and is not scored).

    Returns:
        ``{"map": float, "ap": {class: float}}`` — ``ap`` holds the classes that have at least
        one non-``difficult`` ground truth (a class with ground truth but no detection has AP
        0.0 and counts in the mean); ``map`` is their mean (0.0 if there are none).

    Raises:
        ValueError: if ``detections`` and ``ground_truths`` have different lengths.
    """
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
            truth_boxes = truth["boxes"][of_class]  # [G', 4]
            difficult = truth.get("difficult", torch.zeros_like(truth["labels"], dtype=torch.bool))
            difficult = difficult[of_class].bool()  # [G']
            num_positives += int((~difficult).sum())
            keep = detection["labels"] == class_id
            boxes, class_scores = detection["boxes"][keep], detection["scores"][keep]  # [D', 4]
            order = class_scores.argsort(descending=True, stable=True)
            boxes, class_scores = boxes[order], class_scores[order]
            outcome = torch.zeros(len(boxes), dtype=torch.int64)  # FP unless matched below
            if len(truth_boxes) and len(boxes):
                best_iou, best = box_iou(boxes, truth_boxes).max(dim=1)  # [D'] each: its best GT
                matched = torch.zeros(len(truth_boxes), dtype=torch.bool)  # [G']
                for index in range(len(boxes)):  # in decreasing score: a loop over one image
                    if best_iou[index] < iou_threshold:
                        continue  # false positive
                    target = best[index]
                    if difficult[target]:
                        outcome[index] = -1  # ignored: neither TP nor FP
                    elif not matched[target]:
                        outcome[index] = 1
                        matched[target] = True
                    # else: its best ground truth is taken -> false positive (no fall-back)
            scores.append(class_scores)
            outcomes.append(outcome)
        if num_positives == 0:
            continue
        all_scores, all_outcomes = torch.cat(scores), torch.cat(outcomes)  # [D_class]
        counted = all_outcomes >= 0  # drop the ignored detections
        all_scores, all_outcomes = all_scores[counted], all_outcomes[counted]
        order = all_scores.argsort(descending=True, stable=True)
        hits = all_outcomes[order].float()  # [D_class] 1 TP, 0 FP, in rank order
        true_positives = hits.cumsum(0)
        ranks = torch.arange(1, len(hits) + 1, dtype=torch.float32)
        ap_per_class[class_id] = average_precision(
            true_positives / num_positives, true_positives / ranks
        )
    mean = sum(ap_per_class.values()) / len(ap_per_class) if ap_per_class else 0.0
    return {"map": mean, "ap": ap_per_class}
