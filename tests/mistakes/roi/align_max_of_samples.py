"""The maximum of the samples of a bin instead of their mean."""

import math

import torch

EXERCISE = "roi.roi_align"


def _bilinear(feature, y, x):
    height, width = feature.shape[-2:]
    y, x = min(max(y, 0.0), height - 1.0), min(max(x, 0.0), width - 1.0)
    y0, x0 = int(y), int(x)
    y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
    ly, lx = y - y0, x - x0
    return (
        feature[:, y0, x0] * (1 - ly) * (1 - lx)
        + feature[:, y0, x1] * (1 - ly) * lx
        + feature[:, y1, x0] * ly * (1 - lx)
        + feature[:, y1, x1] * ly * lx
    )


def roi_align(
    features, rois, output_size=(7, 7), spatial_scale=1 / 16, sampling_ratio=2, aligned=True
):
    out_h, out_w = output_size
    _, channels, height, width = features.shape
    output = features.new_zeros(len(rois), channels, out_h, out_w)
    offset = 0.5 if aligned else 0.0
    for k, (image, *box) in enumerate(rois.tolist()):  # a plain loop: fine for a mistake
        x1, y1, x2, y2 = (value * spatial_scale - offset for value in box)
        roi_w, roi_h = x2 - x1, y2 - y1
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
        feature = features[int(image)]
        for i in range(out_h):
            for j in range(out_w):
                values = []
                for a in range(grid_h):
                    for b in range(grid_w):
                        y = y1 + i * roi_h / out_h + (a + 0.5) * roi_h / out_h / grid_h
                        x = x1 + j * roi_w / out_w + (b + 0.5) * roi_w / out_w / grid_w
                        outside = y < -1 or y > height or x < -1 or x > width
                        values.append(
                            torch.zeros(channels) if outside else _bilinear(feature, y, x)
                        )
                if values:
                    output[k, :, i, j] = torch.stack(values).amax(dim=0)
    return output
