"""Synthetic images for pretraining the detector's VGG16 backbone (``bam pretrain backbone``).

Shapes of six kinds on a muted background, with their boxes and kinds, drawn with torch from a
``torch.Generator`` (the same seed, the same batch) by the course's one shape drawer
(``bam.data.shape_drawer``, which draws ``data/shapes`` too); ``bam.pipelines.backbone_pretraining`` learns the kind and
size of the shape under each feature-map cell from them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from bam.data.shape_drawer import SHAPE_KINDS, shape_mask


def _uniform(generator: torch.Generator, low: float, high: float, size: tuple[int, ...] = ()):
    return low + (high - low) * torch.rand(size, generator=generator)


def _background(height: int, width: int, generator: torch.Generator) -> Tensor:
    """Muted smooth texture with a few streaks and fine grain. Returns Tensor[3, H, W]."""
    base = _uniform(generator, 0.25, 0.75) + _uniform(generator, -0.1, 0.1, (3, 1, 1))
    cells = int(torch.randint(3, 12, (), generator=generator))
    smooth = torch.randn(1, 1, cells, cells, generator=generator)
    smooth = F.interpolate(smooth, size=(height, width), mode="bicubic", align_corners=False)[0]
    image = base * (1 + 0.15 * smooth)  # [3, H, W]
    y = torch.arange(height).view(height, 1) + 0.5
    x = torch.arange(width).view(1, width) + 0.5
    for _ in range(int(torch.randint(2, 7, (), generator=generator))):  # thin streaks
        start = torch.rand(2, generator=generator) * torch.tensor([width, height])
        angle = _uniform(generator, 0, math.pi)
        distance = ((x - start[0]) * torch.sin(angle) - (y - start[1]) * torch.cos(angle)).abs()
        image = torch.where(distance < _uniform(generator, 0.4, 1.2), image * 0.7 + 0.15, image)
    return image + 0.03 * torch.randn(1, height, width, generator=generator)


def synthetic_batch(
    batch_size: int, height: int, width: int, generator: torch.Generator
) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """Draws images with 1-5 shapes each.

    Returns:
        ``(images [B, 3, H, W] in [0, 1], boxes, kinds)``: per image, ``boxes`` float [N, 4]
        ``(x1, y1, x2, y2)`` tight around the shape's visible pixels (exclusive max) and
        ``kinds`` int64 [N] in ``0..K-1``.
    """
    y = torch.arange(height, dtype=torch.float32).view(height, 1) + 0.5
    x = torch.arange(width, dtype=torch.float32).view(1, width) + 0.5
    images, all_boxes, all_kinds = [], [], []
    for _ in range(batch_size):  # a loop over images, not pixels
        image = _background(height, width, generator)
        masks, kinds = [], []
        for _ in range(int(torch.randint(1, 6, (), generator=generator))):
            kind = int(torch.randint(len(SHAPE_KINDS), (), generator=generator))
            extent = float(_uniform(generator, 12, 48))
            centre_x = float(_uniform(generator, extent / 2, width - extent / 2))
            centre_y = float(_uniform(generator, extent / 2, height - extent / 2))
            mask = shape_mask(
                kind,
                x - centre_x,
                y - centre_y,
                extent,
                float(_uniform(generator, 0, 2 * math.pi)),
                float(_uniform(generator, 0.35, 0.7)),
            )
            colour = torch.rand(3, 1, 1, generator=generator)
            shading = 1 + 0.004 * ((x - centre_x) * float(torch.randn((), generator=generator)))
            image = torch.where(mask, colour * shading, image)
            masks = [earlier & ~mask for earlier in masks] + [mask]
            kinds.append(kind)
        visible = torch.stack(masks)  # [N, H, W]
        keep = visible.flatten(1).sum(1) >= 30  # shapes mostly hidden by later ones are dropped
        rows, columns = visible.any(2), visible.any(1)  # [N, H], [N, W]
        boxes = torch.stack(
            [
                columns.float().argmax(1),
                rows.float().argmax(1),
                width - columns.flip(1).float().argmax(1),
                height - rows.flip(1).float().argmax(1),
            ],
            dim=1,
        ).float()  # [N, 4]
        images.append(image.clamp(0, 1))
        all_boxes.append(boxes[keep])
        all_kinds.append(torch.tensor(kinds)[keep])
    return torch.stack(images), all_boxes, all_kinds
