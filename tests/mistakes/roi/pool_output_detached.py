"""Computes the pooled maxima on ``features.detach()`` (or under ``torch.no_grad()``): the values
are right, but no gradient reaches the backbone through the detection head."""

import solutions.roi as roi

_original = roi.roi_pool

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    return _original(features.detach(), rois, output_size, spatial_scale)
