"""Takes the maximum over an empty stack when there are no RoIs (``torch.stack([])`` raises): a
batch whose images have no proposals left crashes the head."""

import torch

import solutions.roi as roi

_original = roi.roi_pool

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    if len(rois) == 0:
        return torch.stack([])  # the mistake: RuntimeError on an empty list
    return _original(features, rois, output_size, spatial_scale)
