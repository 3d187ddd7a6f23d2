"""The course's one shape drawer: the pixels a circle, square, triangle, ellipse, cross or ring covers.

Pure geometry, no randomness: the callers draw a shape's size, angle and place from their own
random streams and hand this the pixel centres' offsets from the shape's centre. Only Python
operators are used (``*``, ``abs``, ``<``, ``&``), so the same function draws numpy arrays
(``bam.data.synthetic``, the bundled ``data/shapes``) and torch tensors
(``bam.data.backbone_shapes``, the backbone's pretraining images) alike, each in its own dtype.

Notation:
    H, W    the height and width of the patch drawn (broadcast from ``dx [1, W]``, ``dy [H, 1]``)
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

SHAPE_KINDS = ("circle", "square", "triangle", "ellipse", "cross", "ring")
"""The kinds ``shape_mask`` draws, by index. ``data/shapes`` uses the first three (its classes)."""


def shape_mask(
    kind: int, dx: Any, dy: Any, extent: float, angle: float = 0.0, aspect: float = 1.0
) -> Any:
    """Which pixels one shape covers.

    Args:
        kind: index into ``SHAPE_KINDS``.
        dx: ``[1, W]`` (numpy array or torch tensor) pixel centres' x minus the shape's centre x.
        dy: ``[H, 1]``, the same for y.
        extent: the shape's size in px: the circle's and the ring's diameter, the square's and
            the triangle's side, the ellipse's long axis, the cross's span.
        angle: the turn (radians) of the square, triangle, ellipse and cross (the circle and the
            ring look the same at every angle).
        aspect: the ellipse's short axis over its long one.

    Returns:
        bool ``[H, W]``, of ``dx``'s and ``dy``'s array type.
    """
    if not 0 <= kind < len(SHAPE_KINDS):
        raise ValueError(f"kind should be 0..{len(SHAPE_KINDS) - 1}, got {kind}")
    half = extent / 2
    cos, sin = math.cos(angle), math.sin(angle)
    along, across = dx * cos + dy * sin, dy * cos - dx * sin  # [H, W], the shape's own frame
    if kind == 0:  # circle
        return dx**2 + dy**2 < half * half
    if kind == 1:  # square
        return (abs(along) < half) & (abs(across) < half)
    if kind == 2:  # equilateral triangle: inside the three half-planes of its edges
        apothem = extent / math.sqrt(3) / 2  # centre to edge (half the circumradius)
        edges = (
            dx * math.cos(angle + 2 * math.pi * corner / 3)
            + dy * math.sin(angle + 2 * math.pi * corner / 3)
            < apothem
            for corner in range(3)
        )
        return reduce(lambda inside, edge: inside & edge, edges)
    if kind == 3:  # ellipse
        return (along / half) ** 2 + (across / (half * aspect)) ** 2 < 1
    if kind == 4:  # cross (a plus sign), arms 0.35 of the half-span wide
        arm = half * 0.35
        return ((abs(along) < half) & (abs(across) < arm)) | (
            (abs(across) < half) & (abs(along) < arm)
        )
    radius_squared = dx**2 + dy**2  # kind 5: ring, the inner edge at 0.55 of the outer
    return (radius_squared < half * half) & (radius_squared > (half * 0.55) ** 2)
