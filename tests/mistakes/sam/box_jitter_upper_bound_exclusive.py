"""Draws the moves with ``torch.randint(-jitter, jitter, ...)``: randint's upper bound is
exclusive, so no side ever moves by +jitter (the jitter is biased inwards/upwards)."""

import torch

import solutions.sam as sam

_original = sam.box_prompt

EXERCISE = "sam.box_prompt"


def box_prompt(mask, jitter=0, generator=None):
    tight = _original(mask, 0)
    if jitter <= 0:
        return _original(mask, jitter, generator)
    moves = torch.randint(-jitter, jitter, (4,), generator=generator)  # the mistake
    height, width = mask.shape
    box = (tight + moves.to(tight)).clamp(min=0)
    box = torch.minimum(box, box.new_tensor([width - 1, height - 1, width - 1, height - 1]))
    return torch.cat([torch.minimum(box[:2], box[2:]), torch.maximum(box[:2], box[2:])])
