"""One nn.Sequential per block: state_dict keys become "0.0.weight", so torchvision weights do not load."""

from torch import nn

EXERCISE = "vgg.vgg16_backbone"


def vgg16_backbone(width=1.0):
    from solutions.vgg import VGG16_CONFIG

    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    blocks, block, in_channels = [], [], 3
    for layer in VGG16_CONFIG:
        if layer == "M":
            blocks.append(nn.Sequential(*block, nn.MaxPool2d(2, 2)))
            block = []
        else:
            out_channels = max(1, round(layer * width))
            block += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(inplace=True)]
            in_channels = out_channels
    blocks.append(nn.Sequential(*block))
    return nn.Sequential(*blocks)
