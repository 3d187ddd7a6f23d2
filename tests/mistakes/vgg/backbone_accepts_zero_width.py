"""No check of ``width``: width 0 builds 1-channel layers silently instead of raising ValueError."""

from torch import nn

EXERCISE = "vgg.vgg16_backbone"


def vgg16_backbone(width=1.0):
    from solutions.vgg import VGG16_CONFIG

    layers, in_channels = [], 3
    for layer in VGG16_CONFIG:
        if layer == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            out_channels = max(1, round(layer * width))
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True)]
            in_channels = out_channels
    return nn.Sequential(*layers)
