"""An empty mask gives a nonsense box (min of nothing) instead of a ValueError that names the problem."""

import torch

from solutions.sam import box_prompt as reference

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    if not mask.bool().any():
        return torch.zeros(4)
    return reference(mask if mask.dim() == 2 else mask[0], jitter, generator)
