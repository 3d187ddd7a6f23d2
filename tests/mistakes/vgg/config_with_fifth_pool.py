"""VGG16's whole ``features`` (with the fifth pool) as the backbone: stride 32, not 16."""

EXERCISE = "vgg.VGG16_CONFIG"


class _Config(list):
    """A list that knows this module (the grafting only takes values defined here)."""


VGG16_CONFIG = _Config(
    [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
)
