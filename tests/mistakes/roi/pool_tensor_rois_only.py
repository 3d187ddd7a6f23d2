"""Accepts only the [K, 5] form of the RoIs: torchvision's list of per-image boxes crashes."""

from solutions import roi

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    if rois.shape[0] == 0:
        return features.new_zeros(0, features.shape[1], *output_size)
    return roi._roi_pool(features, rois, output_size, spatial_scale)
