"""spatial_scale ignored: RoIs in image pixels used as feature-map cells (16x too big for VGG16)."""

from solutions.roi import roi_pool as _reference

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    return _reference(features, rois, output_size, 1.0)
