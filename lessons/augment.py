"""Lesson 2 — augment: augmentation that keeps the image, its mask and its boxes together.

An augmentation moves pixels; every label must move with them. Flip an image and not its boxes,
and the model learns from boxes that point at the wrong place. This lesson writes the
geometric transforms (flips, quarter turns, random crops) for image, mask and boxes at once,
a photometric one that touches the image only, and then an Albumentations pipeline that moves the boxes too.

Notation:
    H, W         image height and width in pixels (sizes are ``(height, width)``)
    image        float ``[3, H, W]`` in [0, 1]
    mask         ``[H, W]`` (bool or {0, 1} float)
    boxes        float ``[N, 4]`` as ``(x1, y1, x2, y2)`` in absolute pixels

Box coordinates are positions on the image plane, where pixel ``i`` covers ``[i, i + 1)``: a
flip maps position ``x`` to ``W - x``, so ``x1' = W - x2`` and ``x2' = W - x1`` (Albumentations'
``pascal_voc`` behaviour). The image's columns move by ``W - 1 - i``, its boxes by ``W - x``:
both say the same thing about the plane.
"""

from __future__ import annotations

import albumentations as A
import torch
from torch import Tensor

__all__ = [
    "brightness_contrast",
    "build_pipeline",
    "hflip",
    "random_crop",
    "rot90",
    "vflip",
]


def hflip(image: Tensor, mask: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mirrors image, mask and boxes left to right.

    Args:
        image: Tensor[3, H, W].
        mask: Tensor[H, W].
        boxes: Tensor[N, 4] ``(x1, y1, x2, y2)``.

    Returns:
        ``(image, mask, boxes)``, new tensors: columns reversed; ``x1' = W - x2``,
        ``x2' = W - x1``, y unchanged.
    """
    # TODO: flip the last dim of image and mask; for the boxes, where does position x land when
    #   the plane is mirrored, and which old coordinate becomes the new left edge?
    raise NotImplementedError


def vflip(image: Tensor, mask: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mirrors image, mask and boxes top to bottom.

    Args:
        image: Tensor[3, H, W].
        mask: Tensor[H, W].
        boxes: Tensor[N, 4] ``(x1, y1, x2, y2)``.

    Returns:
        ``(image, mask, boxes)``, new tensors: rows reversed; ``y1' = H - y2``,
        ``y2' = H - y1``, x unchanged.
    """
    # TODO: like hflip, along the rows: image and mask dim -2, the y coordinates of the boxes.
    raise NotImplementedError


def rot90(image: Tensor, mask: Tensor, boxes: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Turns image, mask and boxes by ``k`` quarter turns counterclockwise.

    The direction is ``numpy.rot90``'s and ``torch.rot90(x, k, dims=(-2, -1))``'s (and
    Albumentations' ``RandomRotate90`` with ``factor=k``): after one turn the top-right corner
    is at the top left, and the image is ``[3, W, H]``.

    Args:
        image: Tensor[3, H, W].
        mask: Tensor[H, W].
        boxes: Tensor[N, 4] ``(x1, y1, x2, y2)``.
        k: number of quarter turns; any integer (taken modulo 4; negative turns clockwise).

    Returns:
        ``(image, mask, boxes)``, new tensors. One turn maps a position ``(x, y)`` to
        ``(y, W - x)``, so ``(x1, y1, x2, y2)`` becomes ``(y1, W - x2, y2, W - x1)``.
    """
    # TODO: torch.rot90 turns image and mask. Work out where one quarter turn sends a position
    #   (x, y) on a W-wide image, apply it to the box corners, and repeat k % 4 times (mind that
    #   width and height swap after each turn).
    raise NotImplementedError


def brightness_contrast(image: Tensor, brightness: float, contrast: float) -> Tensor:
    """Changes brightness and contrast: ``image * (1 + contrast) + brightness``, clipped to [0, 1].

    Albumentations' ``RandomBrightnessContrast`` does this for float images (with
    ``brightness_by_max=True``). Masks and boxes do not change.

    Args:
        image: Tensor[3, H, W] float in [0, 1].
        brightness: added to every pixel, e.g. in [-0.2, 0.2].
        contrast: ``1 + contrast`` multiplies every pixel, e.g. in [-0.2, 0.2].

    Returns:
        Tensor[3, H, W] in [0, 1], a new tensor.
    """
    # TODO: one line of arithmetic on the image, then clamp to [0, 1].
    raise NotImplementedError


def random_crop(
    image: Tensor,
    mask: Tensor,
    boxes: Tensor,
    size: tuple[int, int],
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Cuts a random ``size`` window out of image and mask; boxes are clipped to it.

    The window's offset is drawn in this order (so that a check can draw the same one)::

        top = int(torch.randint(0, H - h + 1, (1,), generator=generator))
        left = int(torch.randint(0, W - w + 1, (1,), generator=generator))

    Args:
        image: Tensor[3, H, W].
        mask: Tensor[H, W].
        boxes: Tensor[N, 4] ``(x1, y1, x2, y2)``.
        size: ``(h, w)`` of the window, at most ``(H, W)``.
        generator: the random generator (``None``: torch's global one).

    Returns:
        ``(image [3, h, w], mask [h, w], boxes [K, 4], kept [K])``: boxes shifted by
        ``(left, top)`` and clipped to ``[0, w] x [0, h]``; a box left with no area (width or
        height <= 0) is dropped, and ``kept`` (int64) says which input boxes remain, in order,
        so labels can follow: ``labels[kept]``.

    Raises:
        ValueError: if the window is larger than the image.
    """
    # TODO: draw top then left with torch.randint and the generator, exactly as the docstring
    #   shows; slice image and mask; shift the boxes into the window, clamp them to it, and keep
    #   only the boxes that still have a positive width and height.
    raise NotImplementedError


def build_pipeline(train: bool) -> A.Compose:
    """The course's Albumentations training pipeline, with boxes kept in step with the pixels.

    Training: ``HorizontalFlip(p=0.5)``, ``VerticalFlip(p=0.5)``,
    ``RandomBrightnessContrast(p=0.2)``. Testing: no transform.
    Both take ``bboxes`` in ``pascal_voc`` format with their ``labels``, and check that image
    and mask have the same size (Albumentations' shape check stays on: the masks match).

    Call it as ``pipeline(image=hwc_array, mask=hw_array, bboxes=boxes, labels=labels)``; for
    segmentation pass no boxes: ``bboxes=np.zeros((0, 4)), labels=[]``.

    Args:
        train: the training pipeline (random) or the test pipeline (identity).

    Returns:
        An ``albumentations.Compose``.
    """
    # TODO: an A.Compose of the three transforms above (or none for testing) with
    #   A.BboxParams(format="pascal_voc", label_fields=["labels"]).
    raise NotImplementedError
