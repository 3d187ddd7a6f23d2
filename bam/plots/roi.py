"""Figures of lesson 7: how RoI pooling and RoIAlign cut a proposal out of the feature map.

The feature map is one channel of a smooth random map (38 x 50 cells, as VGG16 gives for a
608 x 800 image); the RoI is given in image pixels and scaled by 1/16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from bam import course

SCALE = 1 / 16
ROI_PIXELS = (150.0, 70.0, 560.0, 330.0)  # (x1, y1, x2, y2) in the image
OUTPUT = (7, 7)


def _feature_map() -> torch.Tensor:
    """A smooth random map ``[1, 1, 38, 50]`` (blurred noise), so the pooled maxima are visible."""
    noise = torch.randn(1, 1, 38, 50, generator=torch.Generator().manual_seed(3))
    kernel = torch.ones(1, 1, 7, 7) / 49
    return F.conv2d(F.pad(noise, (3, 3, 3, 3), mode="reflect"), kernel)


def _grid_axes(axes: Axes, features: torch.Tensor, title: str) -> None:
    axes.imshow(features[0, 0].numpy(), cmap="viridis", interpolation="nearest")
    axes.set_title(title, fontsize=9)
    axes.set_xlim(6, 38)
    axes.set_ylim(24, 2)
    axes.set_xticks(range(6, 39, 4))
    axes.set_yticks(range(2, 25, 4))
    axes.tick_params(labelsize=8)


def _draw_pool_bins(axes: Axes, features: Tensor, box: tuple[float, float, float, float]) -> None:
    """RoI pooling's panel: the RoI rounded to whole cells (end cell included), uneven bins."""
    x1, y1, x2, y2 = box  # map coordinates
    # RoI pooling: round the RoI to whole cells (end cell included), bins of whole cells
    _grid_axes(axes, features, "RoI pooling: RoI rounded to cells,\nbins of whole cells (uneven)")
    start_x, start_y = round(x1), round(y1)
    cells_w, cells_h = round(x2) - start_x + 1, round(y2) - start_y + 1
    for i in range(OUTPUT[0]):  # bin i: cells floor(i h / 7) .. ceil((i + 1) h / 7) - 1
        top, bottom = (
            start_y + i * cells_h // OUTPUT[0],
            start_y - (-(i + 1) * cells_h // OUTPUT[0]),
        )
        for j in range(OUTPUT[1]):
            left, right = (
                start_x + j * cells_w // OUTPUT[1],
                start_x - (-(j + 1) * cells_w // OUTPUT[1]),
            )
            colour = "white" if (i + j) % 2 == 0 else "black"  # a checkerboard of outlines:
            corner = (left - 0.5 + 0.1, top - 0.5 + 0.1)  # inset, so bins sharing a cell show it
            axes.add_patch(
                Rectangle(
                    corner,
                    right - left - 0.2,
                    bottom - top - 0.2,
                    fill=False,
                    edgecolor=colour,
                    lw=1,
                )
            )
    axes.add_patch(
        Rectangle(
            (start_x - 0.5, start_y - 0.5), cells_w, cells_h, fill=False, edgecolor="white", lw=2
        )
    )
    # imshow centres cell c on c, so rounding x * scale picks the cell whose centre is nearest
    axes.add_patch(
        Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="#ff4b4b", lw=2, ls="--")
    )
    axes.set_xlabel(
        "red dashed: RoI x 1/16 before rounding; white: the rounded RoI;\n"
        "bins outlined white/black (bin i spans cells floor(i h / 7)\n"
        "to ceil((i + 1) h / 7) - 1: neighbours may share a cell)",
        fontsize=8,
    )


def _draw_align_bins(axes: Axes, features: Tensor, box: tuple[float, float, float, float]) -> None:
    """RoIAlign's panel: the exact RoI (shifted by half a cell), equal bins, 2 x 2 samples each."""
    x1, y1, x2, y2 = box  # map coordinates
    # RoIAlign: exact RoI (shifted by half a cell), exact bins, 2 x 2 samples per bin
    _grid_axes(axes, features, "RoIAlign: exact bins,\n2 x 2 bilinear samples each, averaged")
    left, top = x1 - 0.5, y1 - 0.5  # aligned=True: the half-cell shift (cell c is centred on c)
    bin_w, bin_h = (x2 - x1) / OUTPUT[1], (y2 - y1) / OUTPUT[0]
    for i in range(OUTPUT[0]):
        for j in range(OUTPUT[1]):
            corner = (left + j * bin_w, top + i * bin_h)
            axes.add_patch(Rectangle(corner, bin_w, bin_h, fill=False, edgecolor="white", lw=0.8))
            for a in (0.25, 0.75):
                for b in (0.25, 0.75):
                    axes.plot(
                        corner[0] + b * bin_w, corner[1] + a * bin_h, ".", color="#ffd23f", ms=3
                    )
    axes.set_xlabel(
        "white: the RoI x 1/16 - 0.5 (aligned) and its 7 x 7 equal bins;\n"
        "yellow: sample points, each interpolated bilinearly\nfrom its 4 nearest cells",
        fontsize=8,
    )


def roi_pooling_grid() -> Figure:
    """RoI pooling's rounded 7x7 bins over the map, RoIAlign's exact bins and sample points, and both outputs."""
    roi = course.load("roi", "solutions")
    features = _feature_map()
    rois = torch.tensor([[0.0, *ROI_PIXELS]])
    x1, y1, x2, y2 = (value * SCALE for value in ROI_PIXELS)  # map coordinates
    figure = Figure(figsize=(7.6, 8.6), layout="constrained")
    panels = figure.subplots(2, 2, gridspec_kw={"width_ratios": [1.5, 1]})

    _draw_pool_bins(panels[0, 0], features, (x1, y1, x2, y2))
    _draw_align_bins(panels[1, 0], features, (x1, y1, x2, y2))
    pooled = roi.roi_pool(features, rois, OUTPUT, SCALE)[0, 0]
    aligned = roi.roi_align(features, rois, OUTPUT, SCALE, sampling_ratio=2, aligned=True)[0, 0]
    low, high = float(features.min()), float(features.max())
    for axes, values, title in (
        (panels[0, 1], pooled, "roi_pool output\n(max of each bin)"),
        (panels[1, 1], aligned, "roi_align output\n(mean of the samples)"),
    ):
        axes.imshow(values.numpy(), cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
        axes.set_title(title, fontsize=9)
        axes.set_xticks(range(OUTPUT[1]))
        axes.set_yticks(range(OUTPUT[0]))
        axes.tick_params(labelsize=8)
    figure.suptitle(
        f"One RoI {tuple(int(v) for v in ROI_PIXELS)} px on a 38 x 50 feature map (stride 16), 7 x 7 output",
        fontsize=10,
    )
    return figure


# The worked example of the lesson page: a 6 x 8 map of whole numbers (a fixed permutation, so
# every maximum is visible), one RoI in image pixels (stride 16), a 2 x 2 output.
WORKED_STRIDE = 16
WORKED_ROI = (20.0, 10.0, 84.0, 70.0)  # (x1, y1, x2, y2) in image pixels
WORKED_OUTPUT = (2, 2)


def worked_map() -> torch.Tensor:
    """The worked example's feature map, ``[6, 8]``: a fixed permutation of 0..47, modulo 40."""
    order = torch.randperm(48, generator=torch.Generator().manual_seed(4))
    return (order % 40).reshape(6, 8).float()


def worked_example() -> dict[str, object]:
    """The worked RoI pooling example, computed with ``torchvision.ops.roi_pool``.

    Returns ``map`` ``[6, 8]``, ``scaled`` (the RoI times 1/16), ``cells`` (the rounded RoI as
    first and last column and row, inclusive), ``bins`` (per bin ``(rows, columns)`` as
    inclusive ranges) and ``output`` ``[2, 2]`` (torchvision's result, which the bins' maxima
    must equal).
    """
    import math

    from torchvision.ops import roi_pool

    features = worked_map()
    scale = 1 / WORKED_STRIDE
    scaled = tuple(value * scale for value in WORKED_ROI)
    x1, y1, x2, y2 = (math.floor(value + 0.5) for value in scaled)  # C's round()
    width, height = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
    bins = {}
    for i in range(WORKED_OUTPUT[0]):
        rows = (
            y1 + math.floor(i * height / WORKED_OUTPUT[0]),
            y1 + math.ceil((i + 1) * height / WORKED_OUTPUT[0]) - 1,
        )
        for j in range(WORKED_OUTPUT[1]):
            columns = (
                x1 + math.floor(j * width / WORKED_OUTPUT[1]),
                x1 + math.ceil((j + 1) * width / WORKED_OUTPUT[1]) - 1,
            )
            bins[(i, j)] = (rows, columns)
    rois = torch.tensor([[0.0, *WORKED_ROI]])
    output = roi_pool(features[None, None], rois, WORKED_OUTPUT, scale)[0, 0]
    for (i, j), (rows, columns) in bins.items():
        region = features[rows[0] : rows[1] + 1, columns[0] : columns[1] + 1]
        assert float(region.max()) == float(output[i, j]), "the bins disagree with torchvision"
    return {
        "map": features,
        "scaled": scaled,
        "cells": ((x1, x2), (y1, y2)),
        "bins": bins,
        "output": output,
    }


WORKED_COLOURS = {(0, 0): "#4e79a7", (0, 1): "#f28e2b", (1, 0): "#59a14f", (1, 1): "#b07aa1"}
"""The colour of each output bin ``(i, j)`` of the worked example."""


def _draw_worked_cells(grid: Axes, example: dict) -> None:
    """Each cell of the worked example's map with its value, in the colour of its bins (hatched
    when two bins share it), each bin's maximum in bold and framed."""
    features, output = example["map"], example["output"]
    colours = WORKED_COLOURS
    rows_n, cols_n = features.shape
    for y in range(rows_n):
        for x in range(cols_n):
            owners = [
                key
                for key, (rows, columns) in example["bins"].items()
                if rows[0] <= y <= rows[1] and columns[0] <= x <= columns[1]
            ]
            face = "white" if not owners else colours[owners[0]]
            alpha = 0.0 if not owners else (0.55 if len(owners) > 1 else 0.28)
            grid.add_patch(Rectangle((x, y), 1, 1, facecolor=face, alpha=alpha, lw=0))
            grid.add_patch(Rectangle((x, y), 1, 1, fill=False, lw=0.4, edgecolor="#bbbbbb"))
            if len(owners) > 1:  # a cell in two bins: hatched in the second bin's colour
                grid.add_patch(
                    Rectangle(
                        (x, y), 1, 1, fill=False, hatch="///", edgecolor=colours[owners[1]], lw=0
                    )
                )
            value = int(features[y, x])
            is_max = any(
                float(output[key]) == value
                and example["bins"][key][0][0] <= y <= example["bins"][key][0][1]
                and example["bins"][key][1][0] <= x <= example["bins"][key][1][1]
                for key in owners
            )
            grid.text(
                x + 0.5,
                y + 0.5,
                str(value),
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold" if is_max else "normal",
                color="black" if owners else "#888888",
            )
            if is_max:
                grid.add_patch(Rectangle((x + 0.08, y + 0.08), 0.84, 0.84, fill=False, lw=1.6))


def _draw_worked_roi(grid: Axes, example: dict) -> None:
    """The RoI scaled to the map (red, dashed), rounded to cells (black), and the axes."""
    features = example["map"]
    (cx1, cx2), (cy1, cy2) = example["cells"]
    sx1, sy1, sx2, sy2 = example["scaled"]
    rows_n, cols_n = features.shape
    # the map's cells are whole numbers: cell c spans [c, c + 1) here, so the rounded RoI of
    # cells cx1..cx2 is drawn from cx1 to cx2 + 1
    grid.add_patch(
        Rectangle((cx1, cy1), cx2 - cx1 + 1, cy2 - cy1 + 1, fill=False, lw=2.2, edgecolor="black")
    )
    grid.add_patch(
        Rectangle(
            (sx1, sy1), sx2 - sx1, sy2 - sy1, fill=False, lw=1.6, ls="--", edgecolor="#d62728"
        )
    )
    grid.set_xlim(0, cols_n)
    grid.set_ylim(rows_n, 0)
    grid.set_aspect("equal")
    grid.set_xticks([c + 0.5 for c in range(cols_n)], [str(c) for c in range(cols_n)])
    grid.set_yticks([r + 0.5 for r in range(rows_n)], [str(r) for r in range(rows_n)])
    grid.tick_params(labelsize=9, length=0)
    grid.set_xlabel("column of the feature map", fontsize=9)
    grid.set_ylabel("row", fontsize=9)
    x1, y1, x2, y2 = (int(v) for v in WORKED_ROI)
    grid.set_title(
        f"RoI ({x1}, {y1}, {x2}, {y2}) px / 16 (red, dashed), rounded to cells"
        f" {cx1}..{cx2} x {cy1}..{cy2} (black)",
        fontsize=9,
    )


def _draw_worked_output(result: Axes, output: Tensor) -> None:
    """The 2 x 2 output of ``roi_pool``: each bin's maximum, in the bin's colour."""
    colours = WORKED_COLOURS
    for (i, j), colour in colours.items():
        result.add_patch(Rectangle((j, i), 1, 1, facecolor=colour, alpha=0.28, edgecolor="black"))
        result.text(j + 0.5, i + 0.5, str(int(output[i, j])), ha="center", va="center", fontsize=14)
    result.set_xlim(0, WORKED_OUTPUT[1])
    result.set_ylim(WORKED_OUTPUT[0], 0)
    result.set_aspect("equal")
    result.set_xticks([0.5, 1.5], ["0", "1"])
    result.set_yticks([0.5, 1.5], ["0", "1"])
    result.tick_params(labelsize=9, length=0)
    result.set_title("roi_pool output, 2 x 2:\nthe maximum of each bin", fontsize=9)


def roi_pooling_worked() -> Figure:
    """RoI pooling by hand: a 6 x 8 map, one RoI scaled by 1/16 and rounded to cells, its 2 x 2 bins (the middle column shared) and their maxima, equal to torchvision's roi_pool."""
    example = worked_example()
    figure = Figure(figsize=(9.0, 3.9), layout="constrained")
    grid, result = figure.subplots(1, 2, gridspec_kw={"width_ratios": [8, 3.2]})
    _draw_worked_cells(grid, example)
    _draw_worked_roi(grid, example)
    _draw_worked_output(result, example["output"])
    return figure


FIGURES = {"roi-pooling-grid": roi_pooling_grid, "roi-pooling-worked": roi_pooling_worked}
