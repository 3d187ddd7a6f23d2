"""Figure of lesson 10: YOLO's grid, and the cell and anchor responsible for each object.

A bundled shapes image at the size ``bam train yolo`` trains on (120x160, a 7x10 grid at stride
16), its ground truths given to the reference ``grid_targets`` with the default anchors of
``YOLO``. Drawn in well under a second, with no trained model.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bam import course
from bam.plots.detector import _box, _colour, _scene, _show

STRIDE = 16
IMAGE_SIZE = (120, 160)  # (height, width): bam train yolo's default --image-size
ANCHORS = ((16.0, 16.0), (32.0, 32.0), (56.0, 48.0))  # YOLO's default anchors (w, h)
COLOUR_WORDS = ("red", "teal", "orange")  # bam.plots.detector's first class colours


def yolo_grid_figure() -> Figure:
    """Lesson 10: the 7x10 grid of a 120x160 image (stride 16); each object (dashed) is the responsibility of the cell holding its centre (shaded) and of the anchor whose shape fits it best (dotted, drawn at the centre), as grid_targets assigns them."""
    yolo = course.load("yolo", "solutions")
    image, boxes, labels, classes = _scene()  # labels 1..3: circle, square, triangle
    height, width = image.shape[-2:]
    scale = torch.tensor([IMAGE_SIZE[1] / width, IMAGE_SIZE[0] / height] * 2)
    image = torch.nn.functional.interpolate(
        image[None], size=IMAGE_SIZE, mode="bilinear", antialias=True
    )[0]
    boxes = boxes.float() * scale
    grid = (IMAGE_SIZE[0] // STRIDE, IMAGE_SIZE[1] // STRIDE)
    anchors = torch.tensor(ANCHORS)
    targets = yolo.grid_targets(boxes, labels, grid, STRIDE, anchors)

    figure = Figure(figsize=(7.5, 6.0))
    axes = figure.subplots()
    _show(axes, image, f"{grid[0]} x {grid[1]} cells of {STRIDE} px; anchors (w x h): "
          + ", ".join(f"{w:.0f}x{h:.0f}" for w, h in ANCHORS))  # fmt: skip
    for row in range(grid[0] + 1):
        axes.axhline(row * STRIDE - 0.5, color="white", lw=0.6, alpha=0.7)
    for column in range(grid[1] + 1):
        axes.axvline(column * STRIDE - 0.5, color="white", lw=0.6, alpha=0.7)
    cells = {(row, column) for row, column, _ in targets["responsible"].nonzero().tolist()}
    for row, column, anchor in targets["responsible"].nonzero().tolist():
        label = int(targets["labels"][row, column, anchor])
        colour = _colour(label)
        corner = (column * STRIDE - 0.5, row * STRIDE - 0.5)
        axes.add_patch(Rectangle(corner, STRIDE, STRIDE, fc=colour, alpha=0.5, lw=0))
        axes.add_patch(Rectangle(corner, STRIDE, STRIDE, fill=False, ec="white", lw=2))
        offset_x, offset_y = targets["offsets"][row, column, anchor].tolist()
        cx, cy = (column + offset_x) * STRIDE, (row + offset_y) * STRIDE
        w, h = ANCHORS[anchor]
        _box(axes, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), colour, lw=1.2, ls=":")
        axes.plot([cx - 0.5], [cy - 0.5], "o", color=colour, markersize=4, markeredgecolor="white")
        above = (row - 1, column) not in cells  # the label outside the cell, clear of its dot
        axes.text(
            corner[0], corner[1] - 0.8 if above else corner[1] + STRIDE + 0.8,
            f"({row}, {column}) anchor {anchor}", fontsize=7.5, color="white",
            va="bottom" if above else "top", weight="bold", zorder=5,
            bbox={"facecolor": "black", "alpha": 0.4, "pad": 0.6, "linewidth": 0},
        )  # fmt: skip
    for box, label in zip(boxes, labels.tolist(), strict=True):
        _box(axes, box, _colour(label), lw=1.6, ls="--")
    axes.set_xlabel(
        "dashed: an object; white square: its responsible cell, with (row, column) and anchor;"
        "\ndotted: that anchor's shape at the object's centre (dot); "
        + ", ".join(f"{name} {word}" for name, word in zip(classes, COLOUR_WORDS, strict=False)),
        fontsize=8,
    )
    figure.tight_layout()
    return figure


FIGURES = {"yolo-grid-responsible": yolo_grid_figure}
