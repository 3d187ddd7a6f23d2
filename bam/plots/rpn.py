"""Figures of lesson 6: anchors, their labels for a ground-truth box, and proposals around NMS.

They draw on an image of the bundled shapes set (a plain grey canvas if it is missing), with
anchor sizes 32/64/128 to suit its 320x240 images (the paper's 128/256/512 suit ~600x1000).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from torch import Tensor

from bam import course
from bam.configs import SHAPES_ROOT
from bam.data.datasets import load_image, read_voc_annotation

STRIDE = 16
SIZES = (32, 64, 128)
RATIOS = (0.5, 1.0, 2.0)
RATIO_COLOURS = {0.5: "#ff9f1c", 1.0: "#2ec4b6", 2.0: "#e71d36"}


def _scene() -> tuple[Tensor, Tensor, str]:
    """A busy shapes image ``[3, H, W]`` (most objects of the first 30), its boxes ``[N, 4]``, a caption."""
    annotations = sorted((SHAPES_ROOT / "Annotations").glob("*.xml"))[:30]
    if annotations:
        parsed = [read_voc_annotation(path) for path in annotations]
        annotation = max(parsed, key=lambda entry: len(entry.boxes))  # the first with the most
        image_path = SHAPES_ROOT / "JPEGImages" / annotation.filename
        if image_path.exists():
            return load_image(image_path), torch.from_numpy(annotation.boxes), annotation.filename
    canvas = torch.full((3, 240, 320), 0.85)  # no bundled data: a grey canvas and one box
    return canvas, torch.tensor([[150.0, 90.0, 230.0, 170.0]]), "synthetic canvas"


def _show(axes: Axes, image: Tensor, title: str) -> None:
    axes.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def _box(axes: Axes, box: list[float], **style: object) -> None:
    x1, y1, x2, y2 = box
    axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, **style))


def anchors_one_location() -> Figure:
    """The 9 anchors of one feature-map position: 3 sizes x 3 ratios (h / w), all centred there."""
    rpn = course.load("rpn", "solutions")
    image, _, caption = _scene()
    height, width = image.shape[1:]
    feature_size = (height // STRIDE, width // STRIDE)
    anchors = rpn.generate_anchors(feature_size, STRIDE, SIZES, RATIOS)  # [H*W*9, 4]
    row, col = feature_size[0] // 2, feature_size[1] // 2
    count = len(SIZES) * len(RATIOS)
    first = (row * feature_size[1] + col) * count
    figure = Figure(figsize=(6.4, 5.0))
    axes = figure.subplots()
    _show(
        axes, image * 0.6 + 0.4, f"The {count} anchors of position (y={row}, x={col}) - {caption}"
    )
    for number, box in enumerate(anchors[first : first + count].tolist()):
        ratio = RATIOS[number // len(SIZES)]
        _box(axes, box, edgecolor=RATIO_COLOURS[ratio], lw=1.6)
    grid_x = np.arange(feature_size[1]) * STRIDE
    grid_y = np.arange(feature_size[0]) * STRIDE
    xs, ys = np.meshgrid(grid_x, grid_y)
    axes.plot(xs.ravel(), ys.ravel(), ".", color="0.35", ms=2)
    axes.plot([col * STRIDE], [row * STRIDE], "o", color="black", ms=5)
    axes.set_xlim(-140, width + 140)
    axes.set_ylim(height + 110, -110)
    handles = [
        Line2D([], [], color=colour, lw=2, label=f"h / w = {ratio:g}")
        for ratio, colour in RATIO_COLOURS.items()
    ]
    handles.append(
        Line2D([], [], color="0.35", marker=".", lw=0, label=f"anchor centres (stride {STRIDE})")
    )
    axes.legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.9)
    sizes = ", ".join(map(str, SIZES))
    axes.set_xlabel(
        f"sizes {sizes} px (area = size²); anchors may cross the image border", fontsize=8
    )
    return figure


def anchor_labels() -> Figure:
    """Anchors labelled for one ground-truth box: positive, ignored and (a sample of) negative."""
    rpn = course.load("rpn", "solutions")
    image, boxes, caption = _scene()
    height, width = image.shape[1:]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    gt = boxes[areas.argmax()][None]  # the largest object
    anchors = rpn.generate_anchors((height // STRIDE, width // STRIDE), STRIDE, SIZES, RATIOS)
    labels, _ = rpn.assign_anchors(anchors, gt, fg_iou=0.7, bg_iou=0.3)
    iou = rpn.box_iou(gt, anchors)[0]  # [N]
    figure = Figure(figsize=(6.4, 5.0))
    axes = figure.subplots()
    _show(
        axes,
        image * 0.6 + 0.4,
        f"{len(anchors)} anchors labelled for the largest box - {caption}",
    )
    centres = ((anchors[:, :2] + anchors[:, 2:]) / 2).numpy()
    negative = (labels == 0).numpy()
    axes.plot(centres[negative, 0], centres[negative, 1], ".", color="0.55", ms=2)
    ignored = (labels == -1).nonzero().squeeze(1)
    shown = ignored[iou[ignored].argsort(descending=True)[:8]]  # the 8 best, not all: clutter
    for index in shown.tolist():
        _box(axes, anchors[index].tolist(), edgecolor="#3a86ff", lw=1.2, ls="--")
    _box(axes, gt[0].tolist(), edgecolor="#e71d36", lw=3.5)  # under the positives
    positive = (labels == 1).nonzero().squeeze(1)
    for index in positive.tolist():
        _box(axes, anchors[index].tolist(), edgecolor="#2ec4b6", lw=2.5, zorder=5)
    # the IoU labels go outside every drawn box, on a white ground, with an arrow to their anchor
    drawn = torch.cat([anchors[shown], anchors[positive], gt])
    left_edge, top_edge = float(drawn[:, 0].min()), float(drawn[:, 1].min())
    for rank, index in enumerate(positive.tolist()[:3]):
        x1, y1 = anchors[index, :2].tolist()
        axes.annotate(
            f"IoU {iou[index]:.2f}",
            xy=(x1, y1),
            xytext=(left_edge - 8, top_edge - 10 - 16 * rank),
            ha="right",
            va="bottom",
            color="#1a7f76",
            fontsize=9,
            weight="bold",
            bbox={"facecolor": "white", "edgecolor": "#2ec4b6", "boxstyle": "round,pad=0.2"},
            arrowprops={"arrowstyle": "->", "color": "#1a7f76", "lw": 1.2},
            zorder=6,
        )
    x1, y1, x2, y2 = gt[0].tolist()  # zoom on the box; the whole image is in the other figures
    axes.set_xlim(max(x1 - 110, 0), min(x2 + 90, width))
    axes.set_ylim(min(y2 + 90, height), max(y1 - 90, 0))
    handles = [
        Line2D([], [], color="#e71d36", lw=2, label="ground truth"),
        Line2D(
            [],
            [],
            color="#2ec4b6",
            lw=2,
            label=f"positive ({len(positive)}): IoU >= 0.7 or its best anchor",
        ),
        Line2D(
            [],
            [],
            color="#3a86ff",
            lw=1,
            ls="--",
            label=f"ignored ({len(ignored)}, the 8 best drawn): 0.3 <= IoU < 0.7",
        ),
        Line2D(
            [],
            [],
            color="0.55",
            marker=".",
            lw=0,
            label=f"negative ({int(negative.sum())}): IoU < 0.3, centres",
        ),
    ]
    axes.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, fontsize=7
    )
    return figure


def proposals_nms() -> Figure:
    """Proposals before NMS (the top 60 of many noisy candidates) and after NMS at IoU 0.7 and 0.3."""
    rpn = course.load("rpn", "solutions")
    image, boxes, caption = _scene()
    height, width = image.shape[1:]
    generator = torch.Generator().manual_seed(0)
    anchors = rpn.generate_anchors((height // STRIDE, width // STRIDE), STRIDE, SIZES, RATIOS)
    best = rpn.box_iou(boxes, anchors).max(dim=0)  # a stand-in for a trained RPN:
    deltas = rpn.encode_boxes(boxes[best.indices], anchors)  # deltas towards the nearest object,
    deltas = deltas + torch.randn(deltas.shape, generator=generator) * 0.12  # plus noise,
    logits = best.values * 8 - 4 + torch.randn(len(anchors), generator=generator)  # scored by IoU
    before, scores = rpn.propose(
        anchors,
        logits,
        deltas,
        (height, width),
        pre_nms_top_n=60,
        post_nms_top_n=60,
        nms_thresh=1.0,
    )
    figure = Figure(figsize=(11, 3.6))
    panels = figure.subplots(1, 3)
    colour_map = _score_colours()
    _show(panels[0], image, f"Before NMS: top {len(before)} proposals")
    for box, score in zip(before.tolist(), scores.tolist(), strict=True):
        _box(panels[0], box, edgecolor=colour_map(score), lw=0.8, alpha=0.8)
    for axes, threshold in zip(panels[1:], (0.7, 0.3), strict=True):
        keep = rpn.nms(before, scores, threshold)
        _show(axes, image, f"After NMS (IoU > {threshold} suppressed): {len(keep)} kept")
        for box, score in zip(before[keep].tolist(), scores[keep].tolist(), strict=True):
            _box(axes, box, edgecolor=colour_map(score), lw=1.5)
    figure.suptitle(f"Proposals on {caption} (colour: objectness, yellow = high)", fontsize=9)
    return figure


def _score_colours():
    from matplotlib import colormaps

    return colormaps["plasma"]


FIGURES = {
    "anchors-one-location": anchors_one_location,
    "anchor-labels": anchor_labels,
    "proposals-nms": proposals_nms,
}
