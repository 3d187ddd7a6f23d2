"""Conv block 5 with two convolutions (the VGG13 layout) instead of three: 12 convs."""

EXERCISE = "vgg.VGG16_CONFIG"


class _Config(list):
    """A list that knows this module (the grafting only takes values defined here)."""


VGG16_CONFIG = _Config(
    [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512]
)
