"""Each pool rounds up (ceil), as with ceil_mode=True or 'same' padding: 33 -> 17 -> 9 -> 5 -> 3."""

import math

EXERCISE = "vgg.feature_map_size"


def feature_map_size(h, w):
    if min(h, w) < 16:
        raise ValueError(f"an image of {h}x{w} pixels is too small for stride 16")
    for _ in range(4):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    return h, w
