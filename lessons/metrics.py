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
    # TODO: count the pixels in both masks and in either mask, per sample (sum over the last two
    #   dims). Mind the case where both masks are empty.
    raise NotImplementedError


def dice_coefficient(pred: Tensor, target: Tensor) -> Tensor:
    """Dice coefficient (F1 score of the pixels) of binary masks, per sample.

    Args:
        pred: Tensor[..., H, W], bool or {0, 1} float — the predicted mask(s).
        target: Tensor[..., H, W], same shape — the ground-truth mask(s).

    Returns:
        Tensor[...] float32: ``2 |P ∩ T| / (|P| + |T|)`` over the last two dims; 1.0 where both
        masks are empty.
    """
    # TODO: like mask_iou, but 2 x intersection over the sum of the two mask sizes. Both empty means
    #   a perfect prediction.
    raise NotImplementedError


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
    # TODO: turn logits into probabilities with a sigmoid for the soft Dice term; for the cross-
    #   entropy use the logits directly (F.binary_cross_entropy_with_logits is numerically
    #   stable).
    raise NotImplementedError


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
    # TODO: broadcast boxes1[:, None] against boxes2[None] to get the [N, M] overlap rectangles;
    #   boxes that do not overlap must give 0, not a negative area.
    raise NotImplementedError


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
    # TODO: pad recall with 0 and 1 and precision with 0 and 0, make precision non-increasing from
    #   the right (running max), then sum rectangle areas where recall changes.
    raise NotImplementedError


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
    # TODO: per class, per image: rank the class's detections by score (stable); each takes its
    #   highest-IoU ground truth (taken or not) and becomes TP, FP or ignored (difficult) as the
    #   docstring lists. Pool the kept ones over images, rank by score, build cumulative
    #   precision and recall, call average_precision.
    raise NotImplementedError
