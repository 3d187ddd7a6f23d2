"""Logits are upsampled with nearest-neighbour interpolation: blocky 4x4 masks instead of smooth edges."""

import torch.nn.functional as F

EXERCISE = "sam.upsample_logits"


def upsample_logits(low_res_logits, size):
    return F.interpolate(low_res_logits[:, None], size=tuple(size), mode="nearest")[:, 0]
