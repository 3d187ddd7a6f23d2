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

from solutions import roi

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
    axes.tick_params(labelsize=7)


def roi_pooling_grid() -> Figure:
    """RoI pooling's rounded 7x7 bins over the map, RoIAlign's exact bins and sample points, and both outputs."""
    features = _feature_map()
    rois = torch.tensor([[0.0, *ROI_PIXELS]])
    x1, y1, x2, y2 = (value * SCALE for value in ROI_PIXELS)  # map coordinates
    figure = Figure(figsize=(12, 8), layout="constrained")
    panels = figure.subplots(2, 2, gridspec_kw={"width_ratios": [1.5, 1]})

    # RoI pooling: round the RoI to whole cells (end cell included), bins of whole cells
    axes = panels[0, 0]
    _grid_axes(axes, features, "RoI pooling: RoI rounded to cells, bins of whole cells (uneven)")
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
        "red dashed: RoI x 1/16 before rounding; white: the rounded RoI; bins outlined white/black"
        "\n(bin i spans cells floor(i h / 7) to ceil((i + 1) h / 7) - 1: neighbours may share a cell)",
        fontsize=7,
    )

    # RoIAlign: exact RoI (shifted by half a cell), exact bins, 2 x 2 samples per bin
    axes = panels[1, 0]
    _grid_axes(axes, features, "RoIAlign: exact bins, 2 x 2 bilinear samples each, averaged")
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
        "white: the RoI x 1/16 - 0.5 (aligned) and its 7 x 7 equal bins; yellow: sample points,"
        "\neach interpolated bilinearly from its 4 nearest cells",
        fontsize=7,
    )

    pooled = roi.roi_pool(features, rois, OUTPUT, SCALE)[0, 0]
    aligned = roi.roi_align(features, rois, OUTPUT, SCALE, sampling_ratio=2, aligned=True)[0, 0]
    low, high = float(features.min()), float(features.max())
    for axes, values, title in (
        (panels[0, 1], pooled, "roi_pool output (max of each bin)"),
        (panels[1, 1], aligned, "roi_align output (mean of the samples)"),
    ):
        axes.imshow(values.numpy(), cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
        axes.set_title(title, fontsize=9)
        axes.set_xticks(range(OUTPUT[1]))
        axes.set_yticks(range(OUTPUT[0]))
        axes.tick_params(labelsize=7)
    figure.suptitle(
        f"One RoI {tuple(int(v) for v in ROI_PIXELS)} px on a 38 x 50 feature map (stride 16), 7 x 7 output",
        fontsize=10,
    )
    return figure


FIGURES = {"roi-pooling-grid": roi_pooling_grid}
