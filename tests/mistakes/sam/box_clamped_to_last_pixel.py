"""Clamps the jittered box to the last pixel's index (W - 1, H - 1) instead of the image's edge (W, H): a mask touching the border loses a pixel."""

import torch

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    if mask.dim() != 2 or not mask.bool().any() or jitter < 0:
        raise ValueError("bad mask")
    rows, columns = torch.nonzero(mask.bool(), as_tuple=True)
    box = torch.stack([columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]).float()
    if jitter > 0:
        box = box + torch.randint(-jitter, jitter + 1, (4,), generator=generator).float()
    height, width = mask.shape
    upper = torch.tensor([width - 1, height - 1, width - 1, height - 1], dtype=torch.float32)
    box = torch.minimum(box.clamp(min=0), upper)
    return torch.cat([torch.minimum(box[:2], box[2:]), torch.maximum(box[:2], box[2:])])
