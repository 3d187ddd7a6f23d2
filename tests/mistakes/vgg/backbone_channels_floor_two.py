"""Keeps at least two channels per layer (``max(2, ...)``): a very narrow width no longer gives
the documented round(c * width), at least 1."""

from torch import nn

import solutions.vgg as vgg

EXERCISE = "vgg.vgg16_backbone"


def vgg16_backbone(width=1.0):
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    layers, in_channels = [], 3
    for layer in vgg.VGG16_CONFIG:
        if layer == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out_channels = max(2, round(int(layer) * width))  # the mistake
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True)]
            in_channels = out_channels
    return nn.Sequential(*layers)
