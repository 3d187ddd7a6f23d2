"""Uses the anchors in their own dtype: float64 anchors turn float32 predictions' boxes into
float64 (the boxes follow the anchors, not the predictions)."""

import torch
import torch.nn.functional as F

from solutions.yolo import SIZE_CLAMP

EXERCISE = "yolo.decode_grid"


def decode_grid(predictions, stride, anchors, image_size):
    rows, columns, count = predictions.shape[:3]
    height, width = image_size
    flat = predictions.reshape(rows * columns * count, -1)
    row = torch.arange(rows).repeat_interleave(columns * count)
    column = torch.arange(columns).repeat_interleave(count).repeat(rows)
    cell = torch.stack([column, row], dim=1).to(flat.dtype)
    anchor_sizes = anchors.repeat(rows * columns, 1)
    centres = (cell + torch.sigmoid(flat[:, :2])) * stride
    sizes = anchor_sizes * torch.exp(flat[:, 2:4].clamp(max=SIZE_CLAMP))
    boxes = torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)
    limit = flat.new_tensor([width, height, width, height])
    boxes = torch.minimum(boxes.clamp(min=0), limit)
    probabilities, classes = F.softmax(flat[:, 5:], dim=1).max(dim=1)
    scores = torch.sigmoid(flat[:, 4]) * probabilities
    return boxes, scores, classes + 1
