"""On equal shape IoU the last anchor wins, not the first as the docstring says."""

from __future__ import annotations

import torch

from solutions.yolo import Tensor

EXERCISE = "yolo.grid_targets"


def grid_targets(
    boxes: Tensor, labels: Tensor, grid_size: tuple[int, int], stride: int, anchors: Tensor
) -> dict[str, Tensor]:
    """Which cell and anchor is responsible for each ground-truth box, and what it should predict.

    The responsible cell holds the box's centre: column ``floor(cx / stride)``, row
    ``floor(cy / stride)``, clamped into the grid (a centre on a cell's left or top edge belongs
    to that cell). The responsible anchor has the largest *shape IoU* with the box — both
    centred at the same point, ``min(w, w_a) * min(h, h_a) / (w h + w_a h_a - min(w, w_a) *
    min(h, h_a))`` — the first one on ties. When two boxes claim the same cell and anchor, the
    larger box (by area) keeps it; on equal areas, the earlier box.

    Args:
        boxes: Tensor[G, 4] float ``(x1, y1, x2, y2)`` in pixels (``G`` may be 0).
        labels: Tensor[G] int64 in 1..C-1.
        grid_size: ``(H', W')`` cells.
        stride: pixels per cell.
        anchors: Tensor[A, 2] anchor ``(w, h)`` in pixels.

    Returns:
        ``{"responsible": bool [H', W', A], "offsets": float [H', W', A, 2], "log_sizes":
        float [H', W', A, 2], "labels": int64 [H', W', A]}``: ``offsets`` is the centre within
        its cell, ``(cx / stride - column, cy / stride - row)`` in [0, 1] (1 only for a centre
        on the grid's far edge); ``log_sizes`` is ``(log(w / w_a), log(h / h_a))``; ``labels``
        is the class (0 where no box is responsible). All zero where ``responsible`` is False.
        On the device of ``boxes``; floats in its dtype.
    """
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
