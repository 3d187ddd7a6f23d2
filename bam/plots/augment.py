"""Figure of lesson 2: boxes that follow the pixels through flips, a quarter turn and a crop.

A bundled shapes image with its boxes, transformed by the reference ``hflip``, ``vflip``,
``rot90`` and ``random_crop``; each box is drawn where the transform puts it, on the transformed
pixels, so a box that missed its object would show at once. Drawn in well under a second.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from bam import course
from bam.plots.detector import _box, _colour, _scene, _show

CROP = (160, 200)  # (h, w) of the crop window, pixels


def augment_boxes_figure() -> Figure:
    """Lesson 2: one shapes image and its boxes after hflip, vflip, rot90 (k = 1) and a random crop, each done by the lesson's functions; the boxes (by class) stay on their objects, and a crop drops the boxes it leaves with no area."""
    augment = course.load("augment", "solutions")
    image, boxes, labels, classes = _scene()
    boxes = boxes.float()
    mask = torch.zeros(image.shape[-2:])
    generator = torch.Generator().manual_seed(2)  # a window that clips three boxes, drops one
    cropped_image, _, cropped_boxes, kept = augment.random_crop(
        image, mask, boxes, CROP, generator=generator
    )
    panels = [
        ("original", image, boxes, labels),
        ("hflip", *augment.hflip(image, mask, boxes)[::2], labels),
        ("vflip", *augment.vflip(image, mask, boxes)[::2], labels),
        ("rot90, k = 1", *augment.rot90(image, mask, boxes, 1)[::2], labels),
        (
            f"random crop {CROP[1]}x{CROP[0]}:\n{len(kept)} of {len(boxes)} boxes kept",
            cropped_image,
            cropped_boxes,
            labels[kept],
        ),
    ]
    figure = Figure(figsize=(7.6, 4.9))
    axes = figure.subplots(2, 3).reshape(-1)
    for ax, (title, pixels, panel_boxes, panel_labels) in zip(axes, panels, strict=False):
        _show(ax, pixels, title)
        for box, label in zip(panel_boxes, panel_labels.tolist(), strict=True):
            _box(ax, box, _colour(label), linewidth=1.8)
    words = ("red", "teal", "orange")  # bam.plots.detector's first class colours
    axes[-1].axis("off")
    axes[-1].text(
        0.05,
        0.5,
        "boxes by class:\n" + "\n".join(f"{c}: {w}" for c, w in zip(classes, words, strict=False)),
        fontsize=9,
        va="center",
        transform=axes[-1].transAxes,
    )
    figure.tight_layout()
    return figure


FIGURES = {"augment-boxes-follow": augment_boxes_figure}
