"""The course's one shape drawer: the pixels a circle, square, triangle, ellipse, cross or ring covers.

Pure geometry, no randomness: the callers draw a shape's size, angle and place from their own
random streams and hand this the pixel centres' offsets from the shape's centre. Only Python
operators are used (``*``, ``abs``, ``<``, ``&``), so the same function draws numpy arrays
(``bam.data.synthetic``, the bundled ``data/shapes``) and torch tensors
(``bam.data.backbone_shapes``, the backbone's pretraining images) alike, each in its own dtype.
The tiny SAM's pretraining regions (``bam.data.sam_shapes``) add three free-form kinds, in
torch: a polygon (``polygon_mask``), a wobbly blob (``blob_mask``) and a curved band
(``band_mask``).

Notation:
    H, W    the height and width of the patch drawn (broadcast from ``dx [1, W]``, ``dy [H, 1]``)
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

import torch
from torch import Tensor

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


def polygon_mask(dx: Tensor, dy: Tensor, vertices: Tensor) -> Tensor:
    """Pixels inside a closed polygon (crossing-number test), in torch.

    Args:
        dx, dy: ``[H, W]`` pixel centres' offsets from the point ``vertices`` are relative to.
        vertices: ``[K, 2]`` the corners ``(x, y)`` in order (either turn).

    Returns:
        bool ``[H, W]``.
    """
    px, py = dx[None], dy[None]  # [1, H, W]
    start, end = vertices, vertices.roll(-1, dims=0)  # [K, 2]: each edge's two ends
    x1, y1 = start[:, 0, None, None], start[:, 1, None, None]  # [K, 1, 1]
    x2, y2 = end[:, 0, None, None], end[:, 1, None, None]
    straddles = (y1 > py) != (y2 > py)  # [K, H, W]: the edge crosses the pixel's row
    crossing_x = x1 + (py - y1) * (x2 - x1) / (y2 - y1 + 1e-9)
    return (straddles & (px < crossing_x)).sum(dim=0) % 2 == 1


def blob_mask(
    dx: Tensor, dy: Tensor, radius: float | Tensor, amplitudes: Tensor, phases: Tensor
) -> Tensor:
    """Pixels of a star-shaped blob: ``radius`` wobbled by harmonics 1..N of the angle, in torch.

    Args:
        dx, dy: ``[H, W]`` pixel centres' offsets from the blob's centre.
        radius: the mean radius in px.
        amplitudes: ``[N]`` each harmonic's share of the radius.
        phases: ``[N]`` each harmonic's phase (radians).

    Returns:
        bool ``[H, W]``.
    """
    harmonics = torch.arange(1, len(amplitudes) + 1, dtype=dx.dtype)[:, None, None]  # [N, 1, 1]
    angle = torch.atan2(dy, dx)  # [H, W] in (-pi, pi]
    wobble = amplitudes[:, None, None] * torch.cos(harmonics * angle + phases[:, None, None])
    return torch.sqrt(dx**2 + dy**2) <= radius * (1 + wobble.sum(0))


def band_mask(xx: Tensor, yy: Tensor, points: Tensor, width: float | Tensor) -> Tensor:
    """Pixels within ``width / 2`` of a polyline (a river, a road), in torch.

    Args:
        xx, yy: ``[H, W]`` pixel centres' coordinates.
        points: ``[N, 2]`` the polyline's points ``(x, y)``, N >= 2.
        width: the band's width in px.

    Returns:
        bool ``[H, W]``.
    """
    pixels = torch.stack([xx.flatten(), yy.flatten()], dim=1)[:, None]  # [P, 1, 2]
    starts, segments = points[:-1], points[1:] - points[:-1]  # [N-1, 2] each
    # distance from each pixel to each segment: project, clamp to the segment
    along = ((pixels - starts) * segments).sum(-1) / (segments**2).sum(-1).clamp(min=1e-9)
    nearest = starts + along.clamp(0, 1)[..., None] * segments  # [P, N-1, 2]
    distance = (pixels - nearest).norm(dim=-1).min(dim=1).values  # [P]
    return (distance <= width / 2).view(xx.shape)
