"""Lesson 7 — roi: RoI pooling and RoIAlign.

The detection head needs a fixed-size input, but proposals come in every size. RoI pooling
cuts each proposal's region out of the feature map and splits it into a fixed grid of bins
(7x7 in Faster R-CNN), keeping the largest value of each bin. It rounds the region and its
bins to whole cells. RoIAlign (Mask R-CNN) does not round: it samples the map at a few
evenly spaced points of each bin by bilinear interpolation and averages them.

Notation:
    features      Tensor[B, C, H, W], the backbone's feature map of B images
    rois          Tensor[K, 5]: ``(batch_index, x1, y1, x2, y2)`` in image pixels
    spatial_scale feature cells per image pixel (1/16 for VGG16): map coordinate = scale * pixel
    output_size   ``(PH, PW)``: bins per RoI, ``(7, 7)`` in Faster R-CNN
    bin           one of the PH x PW cells of a RoI; each becomes one output value per channel
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["roi_align", "roi_pool"]


def _round_half_away_from_zero(values: Tensor) -> Tensor:
    """C's ``round``: 2.5 -> 3 (``torch.round`` gives 2: it rounds half to even)."""
    return torch.sign(values) * torch.floor(values.abs() + 0.5)


def _check_inputs(features: Tensor, rois: Tensor) -> None:
    """Raises ValueError naming the problem when the shapes are not [B, C, H, W] and [K, 5]."""
    if features.dim() != 4:
        raise ValueError(f"features should be [B, C, H, W], got shape {tuple(features.shape)}")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(
            f"rois should be [K, 5] (batch_index, x1, y1, x2, y2), got {tuple(rois.shape)}"
        )


def roi_pool(
    features: Tensor,
    rois: Tensor,
    output_size: tuple[int, int] = (7, 7),
    spatial_scale: float = 1 / 16,
) -> Tensor:
    """Max pooling of each RoI into a fixed grid of bins (equals ``torchvision.ops.roi_pool``).

    Each RoI is scaled to the map and rounded to whole cells (C ``round``), inclusive of its
    end cell, so it spans ``x2' - x1' + 1`` columns (at least 1). Bin ``(i, j)`` covers rows
    ``floor(i * h / PH) .. ceil((i + 1) * h / PH)`` (end excluded) of it, clipped to the map;
    its value is the maximum there, 0 for a bin entirely outside the map.

    Args:
        features: Tensor[B, C, H, W].
        rois: Tensor[K, 5] ``(batch_index, x1, y1, x2, y2)`` in image pixels, dtype of features.
        output_size: ``(PH, PW)`` bins per RoI.
        spatial_scale: map cells per image pixel.

    Returns:
        Tensor[K, C, PH, PW].
    """
    # TODO: scale the RoIs and round them to cells with _round_half_away_from_zero (as C's
    #   round; torch.round rounds 0.5 to even). For each of the PH x PW bins (a loop over bins
    #   is fine) find its rows and columns, clip them to the map, and take the max there (a
    #   mask filled with -inf, then amax), 0 for empty bins.
    raise NotImplementedError


def roi_align(
    features: Tensor,
    rois: Tensor,
    output_size: tuple[int, int] = (7, 7),
    spatial_scale: float = 1 / 16,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> Tensor:
    """RoIAlign: average of bilinear samples in each bin (equals ``torchvision.ops.roi_align``).

    A RoI maps to ``scale * (x1, y1, x2, y2)``, shifted by -0.5 when ``aligned`` (pixel centres
    line up; without it, sides shorter than 1 cell become 1). Each bin is sampled at a
    ``g x g`` grid of evenly spaced points (``g = sampling_ratio``, or ``ceil(bin size)`` when
    ``sampling_ratio <= 0``), each interpolated bilinearly; points beyond one cell outside the
    map count as 0. The samples of a bin are averaged.

    Bilinear sampling and averaging are linear and separable in y and x, so each RoI's output is
    ``weights_y [PH, H] @ feature [H, W] @ weights_x [W, PW]`` per channel: two matrix products.

    Args:
        features: Tensor[B, C, H, W].
        rois: Tensor[K, 5] ``(batch_index, x1, y1, x2, y2)`` in image pixels.
        output_size: ``(PH, PW)`` bins per RoI.
        spatial_scale: map cells per image pixel.
        sampling_ratio: samples per bin along each axis; ``<= 0`` for adaptive.
        aligned: shift by half a cell so that pixel centres align (the correct choice).

    Returns:
        Tensor[K, C, PH, PW], differentiable with respect to ``features``.
    """
    # TODO: per RoI: start = scale * x1 - 0.5 (aligned), bin size = RoI size / PW; the
    #   samples of bin j sit at start + j * bin + (i + 0.5) * bin / g. Bilinear weights of the
    #   two neighbouring rows/columns (clamped at the map's edge, 0 beyond one cell outside), then
    #   the mean over the g x g samples. Linear algebra helps: the result is Wy @ map @ Wx.T.
    raise NotImplementedError
