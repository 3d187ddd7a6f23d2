"""The box ends one past the last mask pixel (x2 = last column + 1), like a Python slice, not inclusive as masks_to_boxes."""

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
    return torch.minimum(box.clamp(min=0), upper)
