"""Lesson 5 — vgg: the VGG16 backbone of Faster R-CNN.

Faster R-CNN looks at an image through a convolutional "backbone": the 13 convolutions and 4
max-pools of VGG16 (its ``features`` without the last pool). Every convolution is 3x3 with
padding 1, so it keeps the size; every pool halves it (rounding down). The output is a feature
map 16 times smaller than the image: one 512-channel vector per 16x16 cell, each of which sees
a large "receptive field" of the image.

Notation:
    config        a list of layers: an int ``c`` is a 3x3 conv (padding 1) to ``c`` channels
                  followed by ReLU; ``'M'`` is a 2x2 max-pool with stride 2
    H, W          image height and width, in pixels
    H', W'        feature map size: ``H' = floor(floor(floor(floor(H / 2) / 2) / 2) / 2)``
    stride        pixels of the image per feature-map cell: 2 ** (number of pools) = 16
    receptive field  side of the square of input pixels one output unit depends on
"""

from __future__ import annotations

from torch import nn

__all__ = ["VGG16_CONFIG", "feature_map_size", "receptive_field", "vgg16_backbone"]

# TODO: replace NotImplemented by the list of VGG16's layers up to conv5_3: ints for the
#   channels of each 3x3 conv, 'M' for each max-pool (13 convs, 4 pools; torchvision's
#   vgg16().features shows them, without its last pool).
VGG16_CONFIG: list[int | str] = NotImplemented


def vgg16_backbone(width: float = 1.0) -> nn.Sequential:
    """The VGG16 convolutional layers up to conv5_3 + ReLU (stride 16), built from ``VGG16_CONFIG``.

    The layers are registered in one ``nn.Sequential`` in the same order as torchvision's
    ``vgg16().features[:30]`` (conv, ReLU, conv, ReLU, pool, ...), so at ``width=1.0`` the
    ``state_dict`` keys (``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...) and shapes are the
    same and ImageNet weights saved from torchvision load into it.

    Args:
        width: multiplier of every layer's channels, rounded, at least 1 channel
            (``width=0.25`` gives 16, 32, 64, 128, 128 channels, small enough to train on a CPU).

    Returns:
        ``nn.Sequential`` mapping ``Tensor[B, 3, H, W]`` to ``Tensor[B, C, H', W']`` with
        ``C = round(512 * width)`` and ``(H', W') = feature_map_size(H, W)``.

    Raises:
        ValueError: if ``width`` is not positive.
    """
    # TODO: walk VGG16_CONFIG: 'M' -> nn.MaxPool2d(2, 2); an int c -> nn.Conv2d(in, c', 3,
    #   padding=1) followed by nn.ReLU(inplace=True), with c' = max(1, round(c * width)).
    #   One flat nn.Sequential, so the indices (hence state_dict keys) match torchvision's.
    raise NotImplementedError


def feature_map_size(h: int, w: int) -> tuple[int, int]:
    """Size of the VGG16 feature map (stride 16) for an image of ``h x w`` pixels.

    The 3x3 convolutions with padding 1 keep the size; each of the 4 max-pools halves it,
    rounding down (``floor``), so 33 -> 16 -> 8 -> 4 -> 2, not 33 / 16 = 2.06 rounded.

    Args:
        h: image height in pixels, at least 16.
        w: image width in pixels, at least 16.

    Returns:
        ``(h', w')``, the feature map's height and width in cells.

    Raises:
        ValueError: if a side is smaller than 16 (the map would be empty).
    """
    # TODO: only the pools change the size; each halves it, rounding down.
    raise NotImplementedError


def receptive_field(config: list[int | str]) -> int:
    """Side, in input pixels, of the receptive field of one unit after the layers of ``config``.

    Walk the layers from the input: a layer with kernel ``k`` widens the field by ``k - 1``
    steps of the current "jump" (input pixels between neighbouring units), and a layer with
    stride ``s`` multiplies the jump by ``s``.

    Args:
        config: layers as in ``VGG16_CONFIG`` (ints are 3x3 convs, ``'M'`` are 2x2/2 pools).

    Returns:
        The receptive field in pixels (196 for VGG16's conv5_3).

    Raises:
        ValueError: if an entry is neither a positive int nor ``'M'``.
    """
    # TODO: keep two numbers while walking config: the field so far and the jump (input
    #   pixels between neighbouring units). How does a 3x3 conv change them? a 2x2 pool, stride 2?
    raise NotImplementedError
