"""Per-class NMS offsets from boxes.max() without a guard: no proposal (or none above the threshold) crashes instead of giving no detection."""

import torch
import torch.nn.functional as F

from solutions import head
from solutions.rpn import decode_boxes, nms

EXERCISE = "head.postprocess_detections"


def postprocess_detections(
    class_logits, box_regression, proposals, image_size, score_thresh=0.05, nms_thresh=0.5,
    detections_per_img=100,
):  # fmt: skip
    num_rois, num_classes = class_logits.shape
    height, width = image_size
    scores = F.softmax(class_logits, dim=-1)
    deltas = box_regression.reshape(num_rois * num_classes, 4)
    repeated = proposals.repeat_interleave(num_classes, dim=0)
    boxes = decode_boxes(deltas, repeated, head.BOX_WEIGHTS).reshape(num_rois, num_classes, 4)
    x = boxes[..., 0::2].clamp(min=0, max=width)
    y = boxes[..., 1::2].clamp(min=0, max=height)
    boxes = torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)
    labels = torch.arange(num_classes).expand(num_rois, num_classes)
    boxes, scores, labels = (
        boxes[:, 1:].reshape(-1, 4),
        scores[:, 1:].reshape(-1),
        labels[:, 1:].reshape(-1),
    )
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    keep = (scores > score_thresh) & (widths >= 1e-2) & (heights >= 1e-2)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    offsets = labels.to(boxes.dtype) * (boxes.max() + 1)
    keep = nms(boxes + offsets[:, None], scores, nms_thresh)[:detections_per_img]
    return boxes[keep], scores[keep], labels[keep]
