"""roi_pool delegated to torchvision.ops.roi_pool (the from-scratch rule gives 0)."""

import torchvision

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    return torchvision.ops.roi_pool(features, rois, output_size, spatial_scale)
