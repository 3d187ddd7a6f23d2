"""Given code for lesson 9: getting images into the detector, and checking what comes in.

``batch_images`` normalises images with the ImageNet statistics (what VGG16 expects) and
pads images of different sizes into one batch, as torchvision's ``GeneralizedRCNNTransform``
does (without resizing: the data loaders resize). ``check_targets`` turns a wrong target into a
clear error before it becomes an obscure one deep inside the loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def batch_images(
    images: Tensor | Sequence[Tensor],
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> tuple[Tensor, list[tuple[int, int]]]:
    """Normalises images and pads them, bottom and right, into one batch.

    Args:
        images: Tensor[B, 3, H, W] or a list of B tensors [3, H_i, W_i], float in [0, 1].
        mean: per-channel mean subtracted from every image.
        std: per-channel standard deviation every image is divided by.

    Returns:
        ``(batch [B, 3, max H, max W], sizes)``: ``sizes[i] = (H_i, W_i)``, the size of image
        ``i`` before padding (padding is 0 after normalisation).

    Raises:
        ValueError: for an empty batch, or an image that is not float ``[3, H, W]``.
    """
    if isinstance(images, Tensor):
        if images.dim() != 4:
            raise ValueError(
                f"images should be [B, 3, H, W] or a list of [3, H, W], got {tuple(images.shape)}"
            )
        images = list(images)
    if len(images) == 0:
        raise ValueError("batch_images got no images")
    for number, image in enumerate(images):
        if not isinstance(image, Tensor) or image.dim() != 3 or image.shape[0] != 3:
            shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
            raise ValueError(f"image {number} should be a float tensor [3, H, W], got {shape}")
        if not image.is_floating_point():
            raise ValueError(
                f"image {number} has dtype {image.dtype}; use floats in [0, 1] (image / 255)"
            )
    sizes = [(int(image.shape[1]), int(image.shape[2])) for image in images]
    height, width = max(size[0] for size in sizes), max(size[1] for size in sizes)
    first = images[0]
    mean_t = torch.as_tensor(mean, dtype=first.dtype, device=first.device).view(3, 1, 1)
    std_t = torch.as_tensor(std, dtype=first.dtype, device=first.device).view(3, 1, 1)
    batch = first.new_zeros(len(images), 3, height, width)
    for index, image in enumerate(images):  # a loop over images, not pixels
        batch[index, :, : image.shape[1], : image.shape[2]] = (image - mean_t) / std_t
    return batch, sizes


def check_targets(targets: Sequence[dict[str, Tensor]] | None, batch_size: int) -> None:
    """Raises a clear ``ValueError`` unless ``targets`` fit a training batch of ``batch_size``.

    Each target needs ``"boxes"`` float ``[N, 4]`` with ``x2 > x1`` and ``y2 > y1`` and
    ``"labels"`` int64 ``[N]`` with values >= 1 (0 is the background class).
    """
    if targets is None:
        raise ValueError(
            "in training mode the detector needs targets: [{'boxes': ..., 'labels': ...}]"
        )
    if len(targets) != batch_size:
        raise ValueError(f"got {len(targets)} targets for {batch_size} images")
    for number, target in enumerate(targets):
        if not isinstance(target, dict) or "boxes" not in target or "labels" not in target:
            raise ValueError(f"target {number} should be a dict with 'boxes' and 'labels'")
        boxes, labels = target["boxes"], target["labels"]
        if boxes.dim() != 2 or boxes.shape[1] != 4 or not boxes.is_floating_point():
            raise ValueError(
                f"target {number}: boxes should be float [N, 4], got {boxes.dtype} {tuple(boxes.shape)}"
            )
        if labels.shape != boxes.shape[:1] or labels.dtype != torch.int64:
            raise ValueError(
                f"target {number}: labels should be int64 [{len(boxes)}], got {labels.dtype} {tuple(labels.shape)}"
            )
        if len(labels) and int(labels.min()) < 1:
            raise ValueError(
                f"target {number}: labels must be >= 1 (0 is background), got {labels.tolist()}"
            )
        flat = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        if bool(flat.any()):
            raise ValueError(
                f"target {number}: box {boxes[flat][0].tolist()} has x2 <= x1 or y2 <= y1 (boxes are x1, y1, x2, y2)"
            )


def check_detector_options(num_classes: int, pool: str) -> None:
    """Raises a clear ``ValueError`` for fewer than 2 classes or an unknown RoI pooling."""
    if num_classes < 2:
        raise ValueError(f"num_classes counts background too, so it is >= 2; got {num_classes}")
    if pool not in ("roi_pool", "roi_align"):
        raise ValueError(f"pool should be 'roi_pool' or 'roi_align', got {pool!r}")


def init_from_scratch(backbone: nn.Module) -> None:
    """He (Kaiming) initialisation of every convolution, as torchvision's VGG does.

    PyTorch's default initialisation shrinks the signal a little at every layer; through the 13
    convolutions of VGG16 it nearly vanishes, and a detector trained from scratch then spends
    its first epochs doing nothing. Loading pretrained weights afterwards overrides this.
    """
    for layer in backbone.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
