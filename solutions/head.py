"""Lesson 8 — head: the Fast R-CNN detection head.

The RPN of lesson 6 proposes a few hundred class-agnostic boxes per image. The detection head
looks at each proposal once more, through the 7x7 features that RoI pooling (lesson 7) cuts out
of the backbone's map, and answers two questions: *which class is it* (background included)
and *how should the box move to fit that class's object*. This lesson builds the four pieces:

1. ``sample_proposals`` — in training, pick a balanced mini-batch of RoIs per image and say
   what each should predict (class label and box-regression target);
2. ``FastRCNNHead`` — two fully connected layers (FC 4096 - FC 4096 in VGG16) and two outputs:
   class logits and per-class box deltas;
3. ``fast_rcnn_loss`` — cross-entropy on the logits plus smooth L1 on the deltas of the true
   class only;
4. ``postprocess_detections`` — at test time, turn logits and deltas into final detections:
   softmax, decode, clip, threshold, non-maximum suppression *per class*, keep the best.

Notation:
    K            number of RoIs (sampled proposals) of one image
    C            number of classes *including background*; class 0 is background,
                 object classes are 1..C-1
    boxes        float ``[N, 4]`` as ``(x1, y1, x2, y2)`` in absolute pixels
    deltas       ``(dx, dy, dw, dh)`` of a box relative to a RoI, scaled by the head's
                 weights ``(10, 10, 5, 5)`` (the RPN uses ``(1, 1, 1, 1)``)
    image_size   ``(height, width)`` in pixels

Given code: the box helpers of lesson 6 (``assign_anchors``, ``sample_labels``,
``encode_boxes``, ``decode_boxes``, ``nms``) are imported from this package's ``rpn`` module.
Use them: matching proposals to ground truth is the same job as matching anchors to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .rpn import assign_anchors, decode_boxes, encode_boxes, nms, sample_labels

__all__ = [
    "FastRCNNHead",
    "fast_rcnn_loss",
    "postprocess_detections",
    "sample_proposals",
]

BOX_WEIGHTS: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
"""Weights of the head's box deltas ``(dx, dy, dw, dh)`` (torchvision's ``RoIHeads``)."""

MIN_BOX_SIZE: float = 1e-2
"""Detections narrower or shorter than this many pixels are dropped (torchvision's value)."""


def sample_proposals(
    proposals: Tensor,
    gt_boxes: Tensor,
    gt_labels: Tensor,
    batch_size: int = 128,
    positive_fraction: float = 0.25,
    fg_iou: float = 0.5,
    bg_iou: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Samples the RoIs of one training image and what the head should predict for each.

    The ground-truth boxes are appended to the proposals first, so every object has at least
    one perfect RoI even when the young RPN proposes nothing useful. Each candidate is then
    matched to the ground truth it overlaps most: IoU >= ``fg_iou`` makes it a positive with that
    object's class, IoU < ``bg_iou`` a negative (background, class 0), anything between is
    ignored. At most ``batch_size`` RoIs are sampled, at most ``positive_fraction`` of them
    positive (fewer when there are not enough; negatives fill the rest).

    Args:
        proposals: Tensor[P, 4] float — the RPN's proposals for this image (no gradient needed).
        gt_boxes: Tensor[G, 4] float — ground-truth boxes (G may be 0).
        gt_labels: Tensor[G] int64 — their classes, in 1..C-1.
        batch_size: RoIs per image, at most.
        positive_fraction: largest share of positives in the sample.
        fg_iou: IoU at or above which a candidate is a positive.
        bg_iou: IoU below which a candidate is background.
        generator: random generator for the sampling (reproducible runs).

    Returns:
        ``(rois, labels, regression_targets)``: ``rois`` Tensor[K, 4] (positives first, then
        negatives), ``labels`` Tensor[K] int64 (0 for background), ``regression_targets``
        Tensor[K, 4]: the deltas (weights ``(10, 10, 5, 5)``) from each positive RoI to its
        matched ground truth, zeros for background RoIs.
    """
    candidates = torch.cat([proposals, gt_boxes.to(proposals.dtype)])  # [P + G, 4]
    if len(gt_boxes) == 0:  # no object: every candidate is background
        match_labels = torch.zeros(len(candidates), dtype=torch.int64, device=candidates.device)
        matched_index = torch.zeros_like(match_labels)
    else:
        match_labels, matched_index = assign_anchors(
            candidates, gt_boxes, fg_iou=fg_iou, bg_iou=bg_iou
        )
    positive_index, negative_index = sample_labels(
        match_labels,
        batch_size=batch_size,
        positive_fraction=positive_fraction,
        generator=generator,
    )
    rois = torch.cat([candidates[positive_index], candidates[negative_index]])  # [K, 4]
    positive_gt = matched_index[positive_index]  # [K_pos] index into gt_boxes
    labels = torch.cat(
        [
            gt_labels[positive_gt].to(torch.int64),
            torch.zeros(len(negative_index), dtype=torch.int64, device=candidates.device),
        ]
    )
    positive_targets = encode_boxes(gt_boxes[positive_gt], candidates[positive_index], BOX_WEIGHTS)
    regression_targets = torch.cat(
        [positive_targets.reshape(-1, 4), rois.new_zeros(len(negative_index), 4)]
    )  # [K, 4]
    return rois, labels, regression_targets


class FastRCNNHead(nn.Module):
    """Two fully connected layers, then class logits and per-class box deltas.

    ``fc6 -> ReLU -> fc7 -> ReLU`` (both ``hidden`` wide, 4096 in VGG16), then two parallel
    linear layers: ``num_classes`` class logits (no softmax: the loss and the post-processing
    apply it) and ``num_classes * 4`` deltas, four per class.

    Args:
        in_features: size of one flattened pooled RoI, e.g. ``512 * 7 * 7``.
        num_classes: number of classes including background.
        hidden: width of the two fully connected layers.
    """

    def __init__(self, in_features: int, num_classes: int, hidden: int = 4096) -> None:
        super().__init__()
        self.fc6 = nn.Linear(in_features, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.class_logits = nn.Linear(hidden, num_classes)
        self.box_deltas = nn.Linear(hidden, num_classes * 4)

    def forward(self, pooled: Tensor) -> tuple[Tensor, Tensor]:
        """Scores and box deltas of each RoI.

        Args:
            pooled: Tensor[K, channels, 7, 7] (pooled features) or Tensor[K, in_features].

        Returns:
            ``(class_logits, box_regression)``: Tensor[K, C] and Tensor[K, C * 4].
        """
        x = pooled.flatten(start_dim=1)  # [K, in_features]
        x = F.relu(self.fc6(x))
        x = F.relu(self.fc7(x))
        return self.class_logits(x), self.box_deltas(x)


def fast_rcnn_loss(
    class_logits: Tensor, box_regression: Tensor, labels: Tensor, regression_targets: Tensor
) -> tuple[Tensor, Tensor]:
    """The detection head's loss, as torchvision's ``fastrcnn_loss``.

    Classification: cross-entropy of the raw logits (``F.cross_entropy`` applies log-softmax
    itself) over all K RoIs. Box regression: smooth L1 with ``beta = 1/9``, summed over the
    four deltas *of the true class* of each positive RoI only, divided by K (all sampled RoIs,
    not just the positives).

    Args:
        class_logits: Tensor[K, C] — raw class scores.
        box_regression: Tensor[K, C * 4] — deltas for every class.
        labels: Tensor[K] int64 — target class of each RoI, 0 for background.
        regression_targets: Tensor[K, 4] — target deltas (ignored for background RoIs).

    Returns:
        ``(loss_classifier, loss_box_reg)``, two scalar tensors.
    """
    loss_classifier = F.cross_entropy(class_logits, labels)
    positive = torch.nonzero(labels > 0).squeeze(1)  # [K_pos]
    per_class = box_regression.reshape(len(labels), -1, 4)  # [K, C, 4]
    predicted = per_class[positive, labels[positive]]  # [K_pos, 4]: the true class's deltas
    loss_box_reg = F.smooth_l1_loss(
        predicted, regression_targets[positive], beta=1 / 9, reduction="sum"
    ) / max(labels.numel(), 1)
    return loss_classifier, loss_box_reg


def postprocess_detections(
    class_logits: Tensor,
    box_regression: Tensor,
    proposals: Tensor,
    image_size: tuple[int, int],
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
) -> tuple[Tensor, Tensor, Tensor]:
    """Final detections of one image from the head's outputs (torchvision's post-processing).

    Steps: softmax over classes; decode each class's deltas on its proposal (weights
    ``(10, 10, 5, 5)``); clip to the image; drop the background column; keep scores above
    ``score_thresh`` and boxes at least 0.01 px wide and high; non-maximum suppression *per
    class* (a cat never suppresses a dog); keep the ``detections_per_img`` best.

    Args:
        class_logits: Tensor[K, C] — raw class scores of the image's proposals.
        box_regression: Tensor[K, C * 4] — per-class deltas.
        proposals: Tensor[K, 4] — the boxes the deltas are relative to.
        image_size: ``(height, width)`` to clip to.
        score_thresh: smallest class probability kept.
        nms_thresh: IoU above which a lower-scored box of the same class is suppressed.
        detections_per_img: most detections returned.

    Returns:
        ``(boxes, scores, labels)``: Tensor[D, 4], Tensor[D], Tensor[D] int64 with labels in
        1..C-1, sorted by decreasing score, ``D <= detections_per_img``. No proposals
        (``K = 0``) gives ``D = 0``: three empty tensors, not an error.
    """
    num_rois, num_classes = class_logits.shape
    height, width = image_size
    scores = F.softmax(class_logits, dim=-1)  # [K, C]
    deltas = box_regression.reshape(num_rois * num_classes, 4)
    repeated = proposals.repeat_interleave(num_classes, dim=0)  # [K * C, 4], row k*C + c
    boxes = decode_boxes(deltas, repeated, BOX_WEIGHTS).reshape(num_rois, num_classes, 4)
    x = boxes[..., 0::2].clamp(min=0, max=width)  # [K, C, 2]: x1, x2 inside the image
    y = boxes[..., 1::2].clamp(min=0, max=height)  # [K, C, 2]: y1, y2
    boxes = torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)  # [K, C, 4]
    labels = torch.arange(num_classes, device=class_logits.device).expand(num_rois, num_classes)

    # drop the background column, then flatten: one candidate per (RoI, class)
    boxes = boxes[:, 1:].reshape(-1, 4)  # [K * (C-1), 4]
    scores = scores[:, 1:].reshape(-1)
    labels = labels[:, 1:].reshape(-1)

    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    keep = (scores > score_thresh) & (widths >= MIN_BOX_SIZE) & (heights >= MIN_BOX_SIZE)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]

    # per-class NMS in one call: shift each class to its own region so classes never overlap
    offsets = labels.to(boxes.dtype) * (boxes.max() + 1 if len(boxes) else 0)  # [D]
    keep = nms(boxes + offsets[:, None], scores, nms_thresh)[:detections_per_img]
    return boxes[keep], scores[keep], labels[keep]
