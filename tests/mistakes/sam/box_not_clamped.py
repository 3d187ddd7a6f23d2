"""Jitter pushes the box past the image border: the sides are never clamped to [0, W] x [0, H]."""

import torch

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    if mask.dim() != 2 or not mask.bool().any() or jitter < 0:
        raise ValueError("bad mask")
    rows, columns = torch.nonzero(mask.bool(), as_tuple=True)
    box = torch.stack([columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]).float()
    if jitter > 0:
        box = box + torch.randint(-jitter, jitter + 1, (4,), generator=generator).float()
    low, high = torch.minimum(box[:2], box[2:]), torch.maximum(box[:2], box[2:])
    return torch.cat([low, high])
