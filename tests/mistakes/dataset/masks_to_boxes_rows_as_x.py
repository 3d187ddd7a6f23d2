"""Rows and columns swapped: the box is (y1, x1, y2, x2)."""

import torch

EXERCISE = "dataset.masks_to_boxes"


def masks_to_boxes(masks):
    present = masks.bool()
    rows, columns = present.any(dim=2), present.any(dim=1)
    height, width = masks.shape[-2:]
    row_index, column_index = torch.arange(height), torch.arange(width)
    y1 = torch.where(rows, row_index, height).amin(dim=1)
    y2 = torch.where(rows, row_index, -1).amax(dim=1)
    x1 = torch.where(columns, column_index, width).amin(dim=1)
    x2 = torch.where(columns, column_index, -1).amax(dim=1)
    boxes = torch.stack([y1, x1, y2, x2], dim=1).float()
    return torch.where(rows.any(dim=1)[:, None], boxes, torch.zeros_like(boxes))
