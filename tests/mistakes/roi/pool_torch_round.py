"""RoI corners rounded half to even (Python round, torch.round) instead of half away from zero (C round): 0.5 -> 0."""

import math

EXERCISE = "roi.roi_pool"


def _round(value):
    return round(value)


def roi_pool(features, rois, output_size=(7, 7), spatial_scale=1 / 16):
    out_h, out_w = output_size
    _, channels, height, width = features.shape
    output = features.new_zeros(len(rois), channels, out_h, out_w)
    for k, (image, *box) in enumerate(rois.tolist()):  # a plain loop: fine for a mistake
        x1, y1, x2, y2 = (_round(value * spatial_scale) for value in box)
        roi_w, roi_h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
        for i in range(out_h):
            top = min(max(math.floor(i * roi_h / out_h) + y1, 0), height)
            bottom = min(max(math.ceil((i + 1) * roi_h / out_h) + y1, 0), height)
            for j in range(out_w):
                left = min(max(math.floor(j * roi_w / out_w) + x1, 0), width)
                right = min(max(math.ceil((j + 1) * roi_w / out_w) + x1, 0), width)
                if bottom <= top or right <= left:
                    output[k, :, i, j] = 0.0
                else:
                    output[k, :, i, j] = features[int(image), :, top:bottom, left:right].amax(
                        dim=(1, 2)
                    )
    return output
