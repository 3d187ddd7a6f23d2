"""An image without objects takes an early return that builds its labels and regression targets without the proposals' dtype or device."""

from __future__ import annotations

import torch

from solutions.head import BOX_WEIGHTS, Tensor, assign_anchors, encode_boxes, sample_labels

EXERCISE = "head.sample_proposals"


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
    candidates = torch.cat([proposals, gt_boxes.to(proposals.dtype)])  # [P + G, 4]
    if len(gt_boxes) == 0:  # no object: every candidate is background
        match_labels = torch.zeros(len(candidates), dtype=torch.int64, device=candidates.device)
        matched_index = torch.zeros_like(match_labels)
    else:
        match_labels, matched_index = assign_anchors(
            candidates, gt_boxes, fg_iou=fg_iou, bg_iou=bg_iou
        )
    if len(gt_boxes) == 0:
        _, negative_index = sample_labels(
            match_labels,
            batch_size=batch_size,
            positive_fraction=positive_fraction,
            generator=generator,
        )
        return (
            candidates[negative_index],
            torch.zeros(len(negative_index), dtype=torch.int64),
            torch.zeros(len(negative_index), 4),
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
