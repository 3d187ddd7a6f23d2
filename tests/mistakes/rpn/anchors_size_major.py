"""Anchors of a position listed size-major (for each size, each ratio): torchvision is ratio-major."""

import torch

EXERCISE = "rpn.generate_anchors"


def generate_anchors(feature_size, stride, sizes=(128, 256, 512), ratios=(0.5, 1.0, 2.0)):
    stride_y, stride_x = (stride, stride) if isinstance(stride, int) else stride
    sizes_t, ratios_t = torch.tensor(sizes, dtype=torch.float32), torch.tensor(ratios)
    widths = (sizes_t[:, None] / ratios_t.sqrt()[None, :]).reshape(-1)  # size-major
    heights = (sizes_t[:, None] * ratios_t.sqrt()[None, :]).reshape(-1)
    base = (torch.stack([-widths, -heights, widths, heights], dim=1) / 2).round()
    ys, xs = torch.meshgrid(
        torch.arange(feature_size[0]) * stride_y,
        torch.arange(feature_size[1]) * stride_x,
        indexing="ij",
    )
    shifts = torch.stack([xs, ys, xs, ys], dim=-1).reshape(-1, 1, 4)
    return (shifts + base[None]).reshape(-1, 4)
