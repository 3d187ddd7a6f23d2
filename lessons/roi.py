"""Lesson 7 — roi: RoI pooling and RoIAlign.

The detection head needs a fixed-size input, but proposals come in every size. RoI pooling
cuts each proposal's region out of the feature map and splits it into a fixed grid of bins
(7x7 in Faster R-CNN), keeping the largest value of each bin. It rounds the region and its
bins to whole cells. RoIAlign (Mask R-CNN) does not round: it samples the map at a few
evenly spaced points of each bin by bilinear interpolation and averages them.

Notation:
    features      Tensor[B, D, H, W], the backbone's feature map of B images (D channels;
                  C is kept for the number of classes, as on every page)
    rois          Tensor[K, 5]: ``(batch_index, x1, y1, x2, y2)`` in image pixels
    spatial_scale feature cells per image pixel (1/16 for VGG16): map coordinate = scale * pixel
    output_size   ``(PH, PW)``: bins per RoI, ``(7, 7)`` in Faster R-CNN
    bin           one of the PH x PW cells of a RoI; each becomes one output value per channel
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["roi_align", "roi_pool"]


def _round_half_away_from_zero(values: Tensor) -> Tensor:
    """C's ``round``: 2.5 -> 3 (``torch.round`` gives 2: it rounds half to even)."""
    return torch.sign(values) * torch.floor(values.abs() + 0.5)


def _as_rois(features: Tensor, rois: Tensor | list[Tensor]) -> Tensor:
    """``[K, 5]`` RoIs from a ``[K, 5]`` tensor or a list of per-image ``[L_i, 4]`` boxes.

    Raises ValueError naming the problem when the shapes are not ``[B, D, H, W]`` and
    ``[K, 5]`` (or a list of ``[L_i, 4]``, one per image).
    """
    if features.dim() != 4:
        raise ValueError(f"features should be [B, D, H, W], got shape {tuple(features.shape)}")
    if isinstance(rois, (list, tuple)):  # torchvision's API: boxes of image i in rois[i]
        for index, boxes in enumerate(rois):
            if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
                shape = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
                raise ValueError(
                    f"rois[{index}] should be Tensor[L, 4] (x1, y1, x2, y2), got {shape}"
                )
        if len(rois) > features.shape[0]:
            raise ValueError(
                f"{len(rois)} lists of boxes for a batch of {features.shape[0]} images"
            )
        boxes = [b.to(features.dtype) for b in rois] or [features.new_zeros(0, 4)]
        image = [torch.full_like(b[:, :1], i) for i, b in enumerate(boxes)]  # [L_i, 1]
        rois = torch.cat([torch.cat(image), torch.cat(boxes)], dim=1)  # [K, 5]
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(
            f"rois should be [K, 5] (batch_index, x1, y1, x2, y2), got {tuple(rois.shape)}"
        )
    return rois


def _in_float32(op: Callable[..., Tensor], features: Tensor, rois: Tensor, *args: Any) -> Tensor:
    """Runs ``op`` in float32 for half-precision inputs and under autocast, as torchvision does.

    Half-precision coordinates and bin edges are off by whole cells on large maps; the result
    is cast back to the dtype of ``features`` (float32 under autocast of float32 inputs).
    """
    dtype = features.dtype
    with torch.autocast(features.device.type, enabled=False):
        wide = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
        return op(features.to(wide), rois.to(wide), *args).to(dtype)


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
        features: Tensor[B, D, H, W].
        rois: Tensor[K, 5] ``(batch_index, x1, y1, x2, y2)`` in image pixels, or a list of B'
            <= B tensors ``[L_i, 4]`` with the boxes of image ``i`` (torchvision's two forms).
        output_size: ``(PH, PW)`` bins per RoI.
        spatial_scale: map cells per image pixel.

    Returns:
        Tensor[K, D, PH, PW] in the dtype of ``features``, differentiable with respect to
        ``features`` (the gradient goes to each bin's maximum). ``K = 0`` gives an empty
        result. float16/bfloat16 inputs (and autocast) are computed in float32, as torchvision
        does, so bins do not move.

    Raises:
        ValueError: if ``features`` is not ``[B, D, H, W]`` or ``rois`` is neither ``[K, 5]``
            nor a list of ``[L_i, 4]``.
    """
    # TODO: rois = _as_rois(features, rois) gives [K, 5] from either form (and checks shapes);
    #   _in_float32(inner, features, rois, ...) runs a function of yours in float32. Then:
    #   scale the RoIs and round them to cells with _round_half_away_from_zero (as C's
    #   round; torch.round rounds 0.5 to even). Compute every RoI's bin edges at once ([K, PH]
    #   rows, [K, PW] columns, clipped to the map), then gather each bin's cells (start +
    #   arange(largest bin), masked past its end to -inf) and take amax; 0 for empty bins. No
    #   Python loop over RoIs or cells (a loop over the PH x PW bins is fine); a mask over the
    #   whole map per bin is too slow for the speed check.
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
        features: Tensor[B, D, H, W].
        rois: Tensor[K, 5] ``(batch_index, x1, y1, x2, y2)`` in image pixels, or a list of B'
            <= B tensors ``[L_i, 4]`` with the boxes of image ``i`` (torchvision's two forms).
        output_size: ``(PH, PW)`` bins per RoI.
        spatial_scale: map cells per image pixel.
        sampling_ratio: samples per bin along each axis; ``<= 0`` for adaptive
            (``ceil(bin size)``: an empty RoI then has no samples and pools to 0, as in
            torchvision).
        aligned: shift by half a cell so that pixel centres align (Detectron2's correction;
            the Mask R-CNN paper's layer and torchvision's default are ``aligned=False``).

    Returns:
        Tensor[K, D, PH, PW] in the dtype of ``features``, differentiable with respect to
        ``features``. ``K = 0`` gives an empty result. float16/bfloat16 inputs (and autocast)
        are computed in float32, as torchvision does.

    Raises:
        ValueError: if ``features`` is not ``[B, D, H, W]`` or ``rois`` is neither ``[K, 5]``
            nor a list of ``[L_i, 4]``.
    """
    # TODO: rois = _as_rois(features, rois); run the maths through _in_float32 (see roi_pool).
    #   For all RoIs at once ([K] tensors): start = scale * x1 - 0.5 (aligned), bin size =
    #   RoI size / PW; the samples of bin j sit at start + j * bin + (i + 0.5) * bin / g.
    #   Bilinear weights of the two neighbouring rows/columns (clamped at the map's edge, 0
    #   beyond one cell outside), then the mean over the g x g samples. The result is
    #   Wy @ map @ Wx.T, batched over the RoIs of each image (a loop over the images is fine;
    #   no loop over RoIs).
    raise NotImplementedError
