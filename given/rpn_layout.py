"""Given code for lesson 6: how the RPN head's outputs line up with the anchors.

``generate_anchors`` lists anchors position by position (row ``y``, then column ``x``), and the
``A`` anchors of one position one after another. The RPN head predicts, per position, ``A``
objectness logits and ``A`` groups of 4 deltas as channels. Flattening them in the same order
turns both into one row per anchor.
"""

from __future__ import annotations

from torch import Tensor


def flatten_rpn_outputs(objectness: Tensor, deltas: Tensor) -> tuple[Tensor, Tensor]:
    """Puts the RPN head's outputs in anchor order: one row per (y, x, anchor).

    Args:
        objectness: Tensor[B, A, H, W] — logits of A anchors at each position.
        deltas: Tensor[B, 4A, H, W] — deltas ``(dx, dy, dw, dh)`` of anchor ``a`` in channels
            ``4a .. 4a + 3``.

    Returns:
        ``(objectness [B, H*W*A], deltas [B, H*W*A, 4])``, in the order of
        ``generate_anchors(feature_size=(H, W), ...)``.

    Raises:
        ValueError: if the shapes do not fit together.
    """
    if objectness.dim() != 4 or deltas.dim() != 4:
        raise ValueError(
            f"expected objectness [B, A, H, W] and deltas [B, 4A, H, W], got shapes"
            f" {tuple(objectness.shape)} and {tuple(deltas.shape)}"
        )
    batch, anchors, height, width = objectness.shape
    if tuple(deltas.shape) != (batch, 4 * anchors, height, width):
        raise ValueError(
            f"deltas should have shape {(batch, 4 * anchors, height, width)} to match objectness"
            f" {tuple(objectness.shape)}, got {tuple(deltas.shape)}"
        )
    flat_objectness = objectness.permute(0, 2, 3, 1).reshape(batch, -1)  # [B, H*W*A]
    flat_deltas = deltas.view(batch, anchors, 4, height, width).permute(
        0, 3, 4, 1, 2
    )  # [B,H,W,A,4]
    return flat_objectness, flat_deltas.reshape(batch, -1, 4)
