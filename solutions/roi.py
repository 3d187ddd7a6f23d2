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
    rois = _as_rois(features, rois)  # [K, 5]
    return _in_float32(_roi_pool, features, rois, output_size, spatial_scale)


def _roi_pool(
    features: Tensor, rois: Tensor, output_size: tuple[int, int], spatial_scale: float
) -> Tensor:
    out_h, out_w = output_size
    batch, channels, height, width = features.shape
    if rois.shape[0] == 0:  # an empty slice of the map keeps it in the autograd graph
        return features.flatten()[:0].reshape(0, channels, out_h, out_w)
    corners = _round_half_away_from_zero(rois[:, 1:].detach() * spatial_scale).long()  # [K, 4]
    image = rois[:, 0].long()  # [K]

    def bin_edges(start: Tensor, end: Tensor, bins: int, size: int) -> tuple[Tensor, Tensor]:
        length = (end - start + 1).clamp(min=1).to(features.dtype)  # [K] cells, inclusive end
        bin_size = length[:, None] / bins  # [K, 1]
        index = torch.arange(bins, device=features.device, dtype=features.dtype)  # [bins]
        lo = torch.floor(index * bin_size).long() + start[:, None]  # [K, bins]
        hi = torch.ceil((index + 1) * bin_size).long() + start[:, None]
        return lo.clamp(0, size), hi.clamp(0, size)

    row_lo, row_hi = bin_edges(corners[:, 1], corners[:, 3], out_h, height)  # [K, PH]
    col_lo, col_hi = bin_edges(corners[:, 0], corners[:, 2], out_w, width)  # [K, PW]

    # The maximum over a rectangle of any size, without a loop over RoIs or bins: a "sparse
    # table". table[i][j] at (y, x) holds the maximum over the 2**i x 2**j cells from (y, x);
    # any range of n cells is covered by two overlapping ranges of 2**floor(log2 n) cells (its
    # first and its last), so a bin's maximum is the maximum of 4 table lookups. (Chosen for
    # speed; the plain version - a masked max over the map per bin - is ~50x slower.)
    rows = (row_hi - row_lo).clamp(min=1)  # [K, PH] bin heights (empty bins masked below)
    cols = (col_hi - col_lo).clamp(min=1)  # [K, PW]
    level_y = torch.log2(rows.double()).floor().long()  # [K, PH]
    level_x = torch.log2(cols.double()).floor().long()  # [K, PW]
    levels_y, levels_x = int(level_y.max()) + 1, int(level_x.max()) + 1

    columns = [features.permute(0, 2, 3, 1)]  # channels last: [B, H, W, C]
    for level in range(1, levels_x):
        half = 2 ** (level - 1)
        previous = columns[-1]
        shifted = F.pad(previous[:, :, half:], (0, 0, 0, half), value=float("-inf"))
        columns.append(torch.maximum(previous, shifted))
    table = []
    for column in columns:
        stack = [column]
        for level in range(1, levels_y):
            half = 2 ** (level - 1)
            shifted = F.pad(stack[-1][:, half:], (0, 0, 0, 0, 0, half), value=float("-inf"))
            stack.append(torch.maximum(stack[-1], shifted))
        table.append(torch.stack(stack))  # [levels_y, B, H, W, C]
    flat_table = torch.stack(table).reshape(-1, channels)  # [levels_x * levels_y * B * H * W, C]

    def lookup(y: Tensor, x: Tensor) -> Tensor:  # y [K, PH], x [K, PW] -> [K, PH, PW, C]
        level = level_x[:, None, :] * levels_y + level_y[:, :, None]  # [K, PH, PW]
        cell = (image[:, None, None] * height + y[:, :, None]) * width + x[:, None, :]
        return flat_table[level * (batch * height * width) + cell]

    # first and last 2**level cells of each bin (clamped only to keep empty bins in range)
    first_row, last_row = (
        row_lo.clamp(max=height - 1),
        (row_lo + rows - 2**level_y).clamp(0, height - 1),
    )
    first_col, last_col = (
        col_lo.clamp(max=width - 1),
        (col_lo + cols - 2**level_x).clamp(0, width - 1),
    )
    pooled = torch.maximum(
        torch.maximum(lookup(first_row, first_col), lookup(first_row, last_col)),
        torch.maximum(lookup(last_row, first_col), lookup(last_row, last_col)),
    )  # [K, PH, PW, C]
    empty = (row_hi <= row_lo)[:, :, None] | (col_hi <= col_lo)[:, None, :]  # [K, PH, PW]
    pooled = pooled.masked_fill(empty[..., None], 0.0)
    return pooled.permute(0, 3, 1, 2).contiguous()  # [K, D, PH, PW]


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
    rois = _as_rois(features, rois)  # [K, 5]
    return _in_float32(
        _roi_align, features, rois, output_size, spatial_scale, sampling_ratio, aligned
    )


def _roi_align(
    features: Tensor,
    rois: Tensor,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> Tensor:
    out_h, out_w = output_size
    channels, height, width = features.shape[1:]
    if rois.shape[0] == 0:  # an empty slice of the map keeps it in the autograd graph
        return features.flatten()[:0].reshape(0, channels, out_h, out_w)
    boxes = rois[:, 1:].detach().to(features.dtype) * spatial_scale - (0.5 if aligned else 0.0)
    sides = boxes[:, 2:] - boxes[:, :2]  # [K, 2] (width, height) in cells
    if not aligned:
        sides = sides.clamp(min=1.0)
    if sampling_ratio > 0:
        grid = torch.full_like(sides, sampling_ratio, dtype=torch.long)  # [K, 2]
    else:
        grid = torch.ceil(sides / sides.new_tensor([out_w, out_h])).long()

    def sampling_weights(
        start: Tensor, length: Tensor, bins: int, grid: Tensor, size: int
    ) -> Tensor:
        """Weight of each map row (or column) in each bin's average: Tensor[K, bins, size].

        ``start``, ``length``: Tensor[K] in map cells; ``grid``: Tensor[K] samples per bin.
        """
        dtype, device = features.dtype, features.device
        bin_index = torch.arange(bins, device=device, dtype=dtype)[:, None]  # [bins, 1]
        sample_index = torch.arange(
            int(grid.amax()) if grid.numel() else 0, device=device, dtype=dtype
        )  # [S]
        bin_size = (length / bins)[:, None, None]  # [K, 1, 1]
        samples = grid[:, None, None].to(dtype)  # [K, 1, 1]
        step = bin_size / samples.clamp(min=1)  # between samples (none when a RoI is empty)
        position = start[:, None, None] + bin_index * bin_size + (sample_index + 0.5) * step
        used = (sample_index < samples) & (position >= -1.0) & (position <= size)  # [K, bins, S]
        position = position.clamp(min=0)
        low = position.floor().long().clamp(max=size - 1)  # [K, bins, S]
        high = (low + 1).clamp(max=size - 1)
        fraction = (position - low.to(dtype)).clamp(0, 1) * (low < size - 1)  # 0 on the last row
        weights = F.one_hot(low, size) * (1 - fraction)[..., None]  # [K, bins, S, size]
        weights = weights + F.one_hot(high, size) * fraction[..., None]
        weights = weights * used[..., None]
        return weights.sum(dim=2) / samples.clamp(min=1)  # [K, bins, size]

    weights_y = sampling_weights(boxes[:, 1], sides[:, 1], out_h, grid[:, 1], height)  # [K, PH, H]
    weights_x = sampling_weights(boxes[:, 0], sides[:, 0], out_w, grid[:, 0], width)  # [K, PW, W]

    output = features.new_zeros(rois.shape[0], out_h, channels, out_w)
    image = rois[:, 0].long()
    for b in image.unique().tolist():  # a loop over the images of the batch, not over RoIs
        mine = (image == b).nonzero().squeeze(1)  # [k]
        feature = features[b].permute(1, 0, 2).reshape(height, channels * width)  # [H, C*W]
        rows = weights_y[mine].reshape(-1, height) @ feature  # [k*PH, C*W]
        rows = rows.reshape(mine.numel(), out_h * channels, width)  # [k, PH*C, W]
        pooled = rows @ weights_x[mine].transpose(1, 2)  # [k, PH*C, PW]
        output = output.index_copy(0, mine, pooled.reshape(-1, out_h, channels, out_w))
    return output.permute(0, 2, 1, 3).contiguous()  # [K, D, PH, PW]
