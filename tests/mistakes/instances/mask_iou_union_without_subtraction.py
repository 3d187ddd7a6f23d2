"""Takes |A| + |B| as the union, without subtracting the intersection: IoU of identical masks is 0.5."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given import sam
from solutions import instances

EXERCISE = "instances.mask_iou_matrix"


def mask_iou_matrix(masks1: Tensor, masks2: Tensor) -> Tensor:
    if masks1.dim() != 3 or masks2.dim() != 3:
        raise ValueError(
            f"masks must be Tensor[N, H, W] and Tensor[M, H, W], got shapes"
            f" {tuple(masks1.shape)} and {tuple(masks2.shape)}"
        )
    if masks1.shape[-2:] != masks2.shape[-2:]:
        raise ValueError(
            f"the masks must have the same H, W, got {tuple(masks1.shape[-2:])} and"
            f" {tuple(masks2.shape[-2:])}"
        )
    floating = [m.dtype for m in (masks1, masks2) if m.is_floating_point()] or [torch.float32]
    dtype = torch.promote_types(floating[0], floating[-1])  # float32 unless the inputs are float
    work = torch.float64 if dtype == torch.float64 else torch.float32  # exact pixel counts
    a = masks1.flatten(1).bool().to(work)  # [N, H*W] in {0, 1}
    b = masks2.flatten(1).bool().to(work)  # [M, H*W]
    intersection = a @ b.T  # [N, M]: pixels in both
    union = a.sum(dim=1)[:, None] + b.sum(dim=1)[None, :]  # [N, M]
    return (intersection / union.clamp(min=1)).to(dtype)  # both empty: 0 / 1 = 0
