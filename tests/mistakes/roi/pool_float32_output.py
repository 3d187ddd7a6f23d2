"""Builds the output with ``torch.zeros(...)`` (float32) whatever the features' dtype: float64
features come back as float32."""

import solutions.roi as roi

_original = roi.roi_pool

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    return _original(features, rois, output_size, spatial_scale).float()
