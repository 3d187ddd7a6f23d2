"""No clamp of dw, dh before exp: one wild prediction makes a box thousands of times its anchor."""

import torch

EXERCISE = "rpn.decode_boxes"


def decode_boxes(deltas, anchors, weights=(1.0, 1.0, 1.0, 1.0)):
    codes = deltas.reshape(deltas.shape[0], -1, 4)
    anchor_wh = (anchors[:, 2:] - anchors[:, :2])[:, None]
    anchor_centre = anchors[:, None, :2] + 0.5 * anchor_wh
    centre = codes[..., :2] / torch.tensor(weights[:2]) * anchor_wh + anchor_centre
    half = 0.5 * torch.exp(codes[..., 2:] / torch.tensor(weights[2:])) * anchor_wh
    return torch.cat([centre - half, centre + half], dim=2).reshape(deltas.shape)
