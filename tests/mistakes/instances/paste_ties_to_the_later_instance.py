"""Ranks by score with an ascending sort flipped (argsort().flip(0)): equal scores come out in
reverse, so ties go to the later instance."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given import sam
from solutions import instances

EXERCISE = "instances.paste_masks"


def paste_masks(
    low_res_logits: Tensor, scores: Tensor, image_size: Sequence[int], threshold: float = 0.0
) -> Tensor:
    if low_res_logits.dim() != 3:
        raise ValueError(
            f"low_res_logits must be Tensor[N, h, w], got shape {tuple(low_res_logits.shape)}"
        )
    if scores.shape != low_res_logits.shape[:1]:
        raise ValueError(
            f"scores must be Tensor[N] with N={len(low_res_logits)}, got shape"
            f" {tuple(scores.shape)}"
        )
    height, width = int(image_size[0]), int(image_size[1])
    count = len(low_res_logits)
    if count == 0:
        return torch.zeros((0, height, width), dtype=torch.bool, device=low_res_logits.device)
    logits = F.interpolate(
        low_res_logits[:, None], size=(height, width), mode="bilinear", align_corners=False
    )[:, 0]  # [N, H, W]: upsample the logits, then threshold
    claimed = logits > threshold  # [N, H, W]
    order = scores.argsort(stable=True).flip(0)  # [N]: rank -> instance (ties: earlier)
    rank = torch.empty_like(order)  # [N]: instance -> rank, 0 for the best score
    rank[order] = torch.arange(count, device=order.device)
    ranks = torch.where(claimed, rank.to(logits.device)[:, None, None], count)  # [N, H, W]
    best = ranks.min(dim=0, keepdim=True).values  # [1, H, W]: best rank claiming each pixel
    return claimed & (ranks == best)  # [N, H, W]: only the best claimant keeps a pixel
