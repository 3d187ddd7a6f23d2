"""Lesson 1 — dataset: splits, loading image/mask pairs, resizing boxes, boxes from masks.

Before any model, data: a reproducible train/test split, images and masks read from disk and
brought to one size without losing their alignment, boxes that follow the image when it is
resized, tight boxes computed from masks (how a segmentation set gets box prompts), and a
collate function that batches detection samples whose targets differ in length.

Notation:
    N            number of boxes or masks
    H, W         image height and width in pixels; sizes are always ``(height, width)``
    S            side of a square, resized image
    image        float ``[3, H, W]`` in [0, 1]
    mask         ``[H, W]``: 1 (or True) for the object's pixels, 0 elsewhere
    boxes        float ``[N, 4]`` as ``(x1, y1, x2, y2)`` in absolute pixels (torchvision)

Boxes from masks use torchvision's convention: ``x2`` is the column of the rightmost pixel
(inclusive maximum), so a one-pixel mask at column 5 has ``x1 = x2 = 5``. Pascal VOC files
store the same pixels 1-based (``xmin = x1 + 1``); ``bam.data.datasets`` converts on load.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

__all__ = [
    "collate_detection",
    "load_segmentation_pair",
    "masks_to_boxes",
    "resize_boxes",
    "train_test_split",
]


def train_test_split(n: int, test_ratio: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Splits the indices ``0 .. n-1`` at random into a train part and a test part.

    Args:
        n: number of samples.
        test_ratio: fraction of the samples held out for testing, in [0, 1].
        seed: seed of the shuffle; the same seed always gives the same split, whatever the
            global random state.

    Returns:
        ``(train_idx, test_idx)``: int64 tensors, disjoint, together covering ``0 .. n-1``,
        with ``len(train_idx) == int((1 - test_ratio) * n)`` (rounded down, not to the nearest).
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)  # [n]
    train_size = int((1 - test_ratio) * n)
    return order[:train_size], order[train_size:]


def load_segmentation_pair(
    image_path: str | Path, mask_path: str | Path, size: int
) -> tuple[Tensor, Tensor]:
    """Reads an image and its mask and resizes both to ``size x size``, still aligned.

    Args:
        image_path: an RGB image file (any format Pillow reads; grey images become RGB).
        mask_path: the mask file: grey levels, white (> 127 of 255) for the object. JPEG masks
            have soft edges, hence the threshold.
        size: side S of the result.

    Returns:
        ``(image, mask)``: image float32 ``[3, S, S]`` in [0, 1], resized with bilinear
        interpolation and antialiasing (``F.interpolate(..., mode="bilinear",
        align_corners=False, antialias=True)``, like Pillow's ``BILINEAR``); mask float32
        ``[S, S]`` with values in {0, 1}, binarised (> 127) and resized with nearest-neighbour
        sampling at pixel centres (``mode="nearest-exact"``, like Pillow's ``NEAREST``), so it
        stays binary.
    """
    with Image.open(image_path) as file:
        pixels = np.asarray(file.convert("RGB"))  # [H, W, 3] uint8
    with Image.open(mask_path) as file:
        mask_pixels = np.asarray(file.convert("L"))  # [H, W] uint8
    image = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255  # [3, H, W]
    mask = torch.from_numpy(mask_pixels > 127).float()  # [H, W]
    image = F.interpolate(
        image[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )[0].clamp(0, 1)
    mask = F.interpolate(mask[None, None], size=(size, size), mode="nearest-exact")[0, 0]
    return image, mask


def resize_boxes(boxes: Tensor, old_size: tuple[int, int], new_size: tuple[int, int]) -> Tensor:
    """Scales boxes drawn on an image of ``old_size`` to the same image resized to ``new_size``.

    Args:
        boxes: Tensor[N, 4] float ``(x1, y1, x2, y2)`` on the old image.
        old_size: ``(height, width)`` of the old image.
        new_size: ``(height, width)`` of the new image.

    Returns:
        Tensor[N, 4]: x coordinates times ``new_w / old_w``, y coordinates times
        ``new_h / old_h``; a new tensor (the input is left as it was).
    """
    (old_height, old_width), (new_height, new_width) = old_size, new_size
    scale_x, scale_y = new_width / old_width, new_height / old_height
    scale = torch.tensor(
        [scale_x, scale_y, scale_x, scale_y], dtype=boxes.dtype, device=boxes.device
    )
    return boxes * scale  # [N, 4], scales each column


def masks_to_boxes(masks: Tensor) -> Tensor:
    """Tight boxes around binary masks, as ``torchvision.ops.masks_to_boxes``.

    Args:
        masks: Tensor[N, H, W], bool or {0, 1}.

    Returns:
        Tensor[N, 4] float32 ``(x1, y1, x2, y2)``: the first and last column and row that hold
        a pixel of each mask, inclusive (a one-pixel mask gives ``x1 == x2``); all zeros for an
        empty mask.

    This inclusive maximum is torchvision's quirk, kept so that the function equals
    torchvision's. Every other box in the course is in pixel edges (pixel ``i`` spans
    ``[i, i + 1)``): the edge box of a mask is ``masks_to_boxes(masks) + (0, 0, 1, 1)``.
    """
    height, width = masks.shape[-2:]
    present = masks.bool()
    rows = present.any(dim=2)  # [N, H]: row y holds a pixel
    columns = present.any(dim=1)  # [N, W]
    row_index = torch.arange(height, device=masks.device)
    column_index = torch.arange(width, device=masks.device)
    # smallest / largest index where present; absent rows pushed out of the way
    y1 = torch.where(rows, row_index, height).amin(dim=1)  # [N]
    y2 = torch.where(rows, row_index, -1).amax(dim=1)
    x1 = torch.where(columns, column_index, width).amin(dim=1)
    x2 = torch.where(columns, column_index, -1).amax(dim=1)
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()  # [N, 4]
    empty = ~rows.any(dim=1)  # [N]
    return torch.where(empty[:, None], torch.zeros_like(boxes), boxes)


def collate_detection(
    batch: list[tuple[Tensor, dict[str, Tensor]]],
) -> tuple[Tensor, list[dict[str, Tensor]]]:
    """Batches detection samples for a ``DataLoader`` (``collate_fn=collate_detection``).

    Images of one size stack into one tensor; targets hold different numbers of boxes, so they
    stay a list (the torchvision detection interface).

    Args:
        batch: list of B samples ``(image [3, H, W], target)``, each target a dict with at
            least ``"boxes"`` ``[N_i, 4]`` and ``"labels"`` ``[N_i]``.

    Returns:
        ``(images [B, 3, H, W], targets)``: targets is the list of the B target dicts, in order.

    Raises:
        ValueError: if the batch is empty or its images differ in size (the message names them).
    """
    if not batch:
        raise ValueError("collate_detection got an empty batch")
    images = [image for image, _ in batch]
    shapes = {tuple(image.shape) for image in images}
    if len(shapes) > 1:
        raise ValueError(
            f"collate_detection: images of different sizes {sorted(shapes)} cannot be stacked;"
            " resize them to one size first (DetectionFolder(..., size=...))"
        )
    return torch.stack(images), [target for _, target in batch]
