"""Adds the row to x and the column to y when decoding: boxes land in the transposed cell."""

import torch

from solutions import yolo

EXERCISE = "yolo.decode_grid"


def decode_grid(predictions, stride, anchors, image_size):
    rows, columns, count = predictions.shape[:3]
    height, width = image_size
    flat = predictions.reshape(rows * columns * count, -1)
    row = torch.arange(rows).repeat_interleave(columns * count)
    column = torch.arange(columns).repeat_interleave(count).repeat(rows)
    cell = torch.stack([row, column], dim=1).to(flat.dtype)
    anchor_sizes = anchors.to(flat).repeat(rows * columns, 1)
    centres = (cell + torch.sigmoid(flat[:, :2])) * stride
    sizes = anchor_sizes * torch.exp(flat[:, 2:4].clamp(max=yolo.SIZE_CLAMP))
    boxes = torch.cat([centres - sizes / 2, centres + sizes / 2], dim=1)
    boxes = torch.minimum(boxes.clamp(min=0), flat.new_tensor([width, height, width, height]))
    probabilities, classes = torch.softmax(flat[:, 5:], dim=1).max(dim=1)
    return boxes, torch.sigmoid(flat[:, 4]) * probabilities, classes + 1
