"""On equal shape IoU the last anchor wins, not the first as the docstring says."""

from __future__ import annotations

import torch

from solutions.yolo import Tensor

EXERCISE = "yolo.grid_targets"


def grid_targets(
    boxes: Tensor, labels: Tensor, grid_size: tuple[int, int], stride: int, anchors: Tensor
) -> dict[str, Tensor]:
    rows, columns = grid_size
    count = anchors.shape[0]
    device, dtype = boxes.device, boxes.dtype
    responsible = torch.zeros(rows, columns, count, dtype=torch.bool, device=device)
    offsets = torch.zeros(rows, columns, count, 2, dtype=dtype, device=device)
    log_sizes = torch.zeros(rows, columns, count, 2, dtype=dtype, device=device)
    classes = torch.zeros(rows, columns, count, dtype=torch.int64, device=device)
    if len(boxes) == 0:
        return {"responsible": responsible, "offsets": offsets, "log_sizes": log_sizes,
                "labels": classes}  # fmt: skip
    anchors = anchors.to(boxes)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2  # [G, 2] (cx, cy)
    sizes = boxes[:, 2:] - boxes[:, :2]  # [G, 2] (w, h)
    column = (centres[:, 0] / stride).floor().long().clamp(0, columns - 1)  # [G]
    row = (centres[:, 1] / stride).floor().long().clamp(0, rows - 1)  # [G]
    overlap = torch.minimum(sizes[:, None, :], anchors[None, :, :]).prod(dim=2)  # [G, A]
    union = sizes.prod(dim=1)[:, None] + anchors.prod(dim=1)[None, :] - overlap
    anchor = count - 1 - (overlap / union).flip(1).argmax(dim=1)  # [G], the first best on ties

    # one winner per (row, column, anchor): a box loses to a larger one, or an equal earlier one
    slot = (row * columns + column) * count + anchor  # [G]
    area = sizes.prod(dim=1)  # [G]
    order = torch.arange(len(boxes), device=device)  # [G]
    stronger = (area[None, :] > area[:, None]) | (  # stronger[g, h]: box h beats box g
        (area[None, :] == area[:, None]) & (order[None, :] < order[:, None])
    )
    wins = ~((slot[:, None] == slot[None, :]) & stronger).any(dim=1)  # [G]

    r, c, a = row[wins], column[wins], anchor[wins]
    responsible[r, c, a] = True
    cell = torch.stack([c, r], dim=1).to(dtype)  # [W, 2] (column, row)
    offsets[r, c, a] = centres[wins] / stride - cell
    log_sizes[r, c, a] = torch.log(sizes[wins] / anchors[a])
    classes[r, c, a] = labels[wins].to(torch.int64)
    return {
        "responsible": responsible,
        "offsets": offsets,
        "log_sizes": log_sizes,
        "labels": classes,
    }
