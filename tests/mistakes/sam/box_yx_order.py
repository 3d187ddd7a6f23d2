"""The box is written (y1, x1, y2, x2): rows first, as a NumPy index would be, not torchvision's (x1, y1, x2, y2)."""

import torch

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    if mask.dim() != 2 or not mask.bool().any() or jitter < 0:
        raise ValueError("bad mask")
    rows, columns = torch.nonzero(mask.bool(), as_tuple=True)
    return torch.stack([rows.min(), columns.min(), rows.max(), columns.max()]).float()
