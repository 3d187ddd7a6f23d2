"""No proposal (K = 0): an early return of float32 CPU tensors, whatever the inputs' dtype and device."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from solutions.head import BOX_WEIGHTS, MIN_BOX_SIZE, Tensor, decode_boxes, nms

EXERCISE = "head.postprocess_detections"


def postprocess_detections(
    class_logits: Tensor,
    box_regression: Tensor,
    proposals: Tensor,
    image_size: tuple[int, int],
    score_thresh: float = 0.05,
    nms_thresh: float = 0.5,
    detections_per_img: int = 100,
) -> tuple[Tensor, Tensor, Tensor]:
    num_rois, num_classes = class_logits.shape
    if num_rois == 0:
        return torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64)
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
