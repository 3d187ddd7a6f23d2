"""The map size as round(h / 16): 600 px gives 38 cells, but the pools round down to 37."""

EXERCISE = "vgg.feature_map_size"


def feature_map_size(h, w):
    if min(h, w) < 16:
        raise ValueError(f"an image of {h}x{w} pixels is too small for stride 16")
    return round(h / 16), round(w / 16)
