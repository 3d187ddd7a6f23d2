"""Jitter only ever grows the box (sides move outwards), so the model never sees a box that cuts the object."""

import torch

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    if mask.dim() != 2 or not mask.bool().any() or jitter < 0:
        raise ValueError("bad mask")
    rows, columns = torch.nonzero(mask.bool(), as_tuple=True)
    box = torch.stack([columns.min(), rows.min(), columns.max(), rows.max()]).float()
    if jitter > 0:
        moves = torch.randint(0, jitter + 1, (4,), generator=generator).float()
        box = box + moves * torch.tensor([-1.0, -1.0, 1.0, 1.0])
    height, width = mask.shape
    upper = torch.tensor([width - 1, height - 1, width - 1, height - 1], dtype=torch.float32)
    return torch.minimum(box.clamp(min=0), upper)
