"""Every RoI pooled from the first image of the batch: rois[:, 0] (the batch index) ignored."""

import torch

from solutions.roi import roi_pool as _reference

EXERCISE = "roi.roi_pool"


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    first = torch.cat([torch.zeros_like(rois[:, :1]), rois[:, 1:]], dim=1)
    return _reference(features, first, output_size, spatial_scale)
