"""Clamps ``dw, dh`` into ``[-log(1000/16), log(1000/16)]``: torchvision clamps only from above,
so a very negative size delta should still shrink the box to almost nothing."""

import torch

import solutions.rpn as rpn

_original_decode_boxes = rpn.decode_boxes  # before the graft replaces it

EXERCISE = "rpn.decode_boxes"


def decode_boxes(deltas, anchors, weights=(1.0, 1.0, 1.0, 1.0)):
    codes = deltas.reshape(deltas.shape[0], -1, 4)
    ww, wh = weights[2], weights[3]
    sizes = (codes[..., 2:] / codes.new_tensor([ww, wh])).clamp(-rpn.DELTA_CLAMP, rpn.DELTA_CLAMP)
    codes = torch.cat([codes[..., :2], sizes * codes.new_tensor([ww, wh])], dim=-1)
    return _original_decode_boxes(codes.reshape(deltas.shape), anchors, weights)
