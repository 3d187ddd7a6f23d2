"""The jitter is drawn from torch's global generator, ignoring `generator`: boxes are not reproducible."""

import torch

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    if mask.dim() != 2 or not mask.bool().any() or jitter < 0:
        raise ValueError("bad mask")
    rows, columns = torch.nonzero(mask.bool(), as_tuple=True)
    box = torch.stack([columns.min(), rows.min(), columns.max(), rows.max()]).float()
    if jitter > 0:
        box = box + torch.randint(-jitter, jitter + 1, (4,)).float()
    height, width = mask.shape
    upper = torch.tensor([width - 1, height - 1, width - 1, height - 1], dtype=torch.float32)
    box = torch.minimum(box.clamp(min=0), upper)
    low, high = torch.minimum(box[:2], box[2:]), torch.maximum(box[:2], box[2:])
    return torch.cat([low, high])
