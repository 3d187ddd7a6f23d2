"""Separates the classes for one batched NMS by ``label * (boxes.max() - 1)``: when the largest
coordinate is 1 (a tiny image) the offset is 0 and one class suppresses another."""

import torch

import solutions.head as head

EXERCISE = "head.postprocess_detections"

_original_nms = head.nms


def postprocess_detections(class_logits, box_regression, proposals, image_size,
                           score_thresh=0.05, nms_thresh=0.5, detections_per_img=100):  # fmt: skip
    num_classes = class_logits.shape[-1]
    scores = torch.softmax(class_logits, dim=-1)
    boxes = head.decode_boxes(box_regression, proposals, (10.0, 10.0, 5.0, 5.0))
    boxes = boxes.reshape(-1, num_classes, 4)
    height, width = image_size
    boxes = torch.stack(
        [boxes[..., 0].clamp(0, width), boxes[..., 1].clamp(0, height),
         boxes[..., 2].clamp(0, width), boxes[..., 3].clamp(0, height)], dim=-1
    )  # fmt: skip
    labels = torch.arange(num_classes).expand(len(proposals), num_classes)
    boxes, scores, labels = (
        boxes[:, 1:].reshape(-1, 4),
        scores[:, 1:].reshape(-1),
        labels[:, 1:].reshape(-1),
    )
    sides = boxes[:, 2:] - boxes[:, :2]
    keep = (scores > score_thresh) & (sides >= 0.01).all(dim=1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    offsets = labels.to(boxes.dtype) * (boxes.max() - 1 if len(boxes) else 0)  # the mistake
    keep = _original_nms(boxes + offsets[:, None], scores, nms_thresh)[:detections_per_img]
    return boxes[keep], scores[keep], labels[keep]
