"""NMS before the min_size filter: a proposal too small to keep suppresses its neighbours before it is dropped."""

from __future__ import annotations

import torch

from solutions.rpn import Tensor, decode_boxes, nms

EXERCISE = "rpn.propose"


def propose(
    anchors: Tensor,
    objectness: Tensor,
    deltas: Tensor,
    image_size: tuple[int, int],
    pre_nms_top_n: int = 6000,
    post_nms_top_n: int = 300,
    nms_thresh: float = 0.7,
    min_size: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    if objectness.shape != anchors.shape[:1] or deltas.shape != anchors.shape:
        raise ValueError(
            f"expected objectness [N] and deltas [N, 4] for {anchors.shape[0]} anchors, got"
            f" {tuple(objectness.shape)} and {tuple(deltas.shape)} (flatten the head's outputs)"
        )
    objectness, deltas = objectness.detach(), deltas.detach()
    top_scores, top_idx = objectness.topk(min(pre_nms_top_n, objectness.numel()))
    boxes = decode_boxes(deltas[top_idx], anchors[top_idx])  # [n, 4]
    scores = torch.sigmoid(top_scores)
    height, width = image_size
    boxes = torch.stack(
        [boxes[:, 0].clamp(0, width), boxes[:, 1].clamp(0, height),
         boxes[:, 2].clamp(0, width), boxes[:, 3].clamp(0, height)], dim=1
    )  # fmt: skip
    sides = boxes[:, 2:] - boxes[:, :2]  # [n, 2]
    keep = nms(boxes, scores, nms_thresh)
    boxes, scores, sides = boxes[keep], scores[keep], sides[keep]
    large = (sides >= min_size).all(dim=1)
    return boxes[large][:post_nms_top_n], scores[large][:post_nms_top_n]
