"""Given code for lesson 4: images and box prompts as the inputs of transformers' ``SamModel``.

Notation:
    B           batch size
    H, W        image height and width (any size; the data of the course is 256x256)
    S           the model's input size (``model.config.vision_config.image_size``: 256 for the
                tiny model, 1024 for real SAM)
    boxes       Tensor[B, 4] float, ``(x1, y1, x2, y2)`` in absolute pixels of the image
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from transformers import SamModel

# SAM normalises images with the ImageNet statistics (its processor's image_mean / image_std)
IMAGE_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGE_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def input_size(model: SamModel) -> int:
    """The side S of the square images ``model`` takes (256 for the tiny SAM, 1024 for real SAM)."""
    return int(model.config.vision_config.image_size)


def pixel_values(model: SamModel, images: Tensor) -> Tensor:
    """Images in [0, 1] as ``SamModel``'s ``pixel_values``: resized (bilinear,
    ``align_corners=False``) to its ``S x S`` input and normalised with SAM's mean and standard
    deviation, on the model's device and dtype.

    Args:
        images: Tensor[B, 3, H, W] float in [0, 1].

    Returns:
        Tensor[B, 3, S, S].
    """
    parameter = next(model.parameters())
    size = input_size(model)
    images = images.to(device=parameter.device, dtype=parameter.dtype)
    if tuple(images.shape[-2:]) != (size, size):
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    mean = images.new_tensor(IMAGE_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGE_STD).view(1, 3, 1, 1)
    return (images - mean) / std  # [B, 3, S, S]


def sam_inputs(model: SamModel, images: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Turns images in [0, 1] and box prompts into what ``SamModel.forward`` expects.

    Images are resized (bilinear) to the model's ``S x S`` input and normalised with SAM's mean
    and standard deviation; the boxes are rescaled to that input the same way (x by ``S / W``,
    y by ``S / H``). Square images (the course's data) keep their proportions; other shapes are
    stretched, and :func:`upsample logits <lessons.sam.upsample_logits>` back to ``H x W``
    undoes it exactly.

    Args:
        images: Tensor[B, 3, H, W] float in [0, 1].
        boxes: Tensor[B, 4] float, ``(x1, y1, x2, y2)`` in pixels of the images — one box per
            image.

    Returns:
        ``(pixel_values, input_boxes)``: Tensor[B, 3, S, S] on the model's device and dtype,
        and Tensor[B, 1, 4] (one box per image, in input pixels) for ``input_boxes=``.

    Raises:
        ValueError: if the shapes do not fit together.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be Tensor[B, 3, H, W], got shape {tuple(images.shape)}")
    if boxes.shape != (images.shape[0], 4):
        raise ValueError(
            f"boxes must be Tensor[B, 4] with one box per image (B={images.shape[0]}),"
            f" got shape {tuple(boxes.shape)}"
        )
    parameter = next(model.parameters())
    size = input_size(model)
    height, width = images.shape[-2:]
    scale = boxes.new_tensor([size / width, size / height, size / width, size / height])
    input_boxes = (boxes.float() * scale).to(device=parameter.device, dtype=parameter.dtype)
    return pixel_values(model, images), input_boxes[:, None, :]  # [B, 3, S, S], [B, 1, 4]
