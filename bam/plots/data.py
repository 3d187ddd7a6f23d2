"""Figures of lessons 1 and 2: the bundled data sets, the split, augmentation and resizing boxes.

The contact sheets (a grid of samples with their masks or boxes) also come from
``bam data --contact-sheet DIR``; they take any folder in the same layout, e.g. a real data set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from torch import Tensor

from bam import course
from bam.configs import SHAPES_ROOT, WATER_ROOT
from bam.data.datasets import DetectionFolder, SegmentationFolder

WATER_COLOUR = np.array([0.1, 0.6, 1.0])
CLASS_COLOURS = ("#ff4b4b", "#ffd23f", "#3fd0ff", "#b76bff", "#6bff8a")
DIAGONAL_RIVER = 10  # a water tile whose river runs diagonally: its tight box is mostly land
SIZE = 256


EDGE = torch.tensor([0.0, 0.0, 1.0, 1.0])  # masks_to_boxes (inclusive max) -> pixel edges


def _show(axes: Axes, image: Tensor, title: str) -> None:
    """Draws a ``[3, H, W]`` image or an ``[H, W]`` mask without ticks."""
    pixels = image.permute(1, 2, 0).numpy() if image.dim() == 3 else image.numpy()
    axes.imshow(
        pixels, cmap="gray" if image.dim() == 2 else None, vmin=0, vmax=1, interpolation="nearest"
    )
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def _overlay(image: Tensor, mask: Tensor, alpha: float = 0.45) -> Tensor:
    """The image with the mask's pixels tinted blue. ``[3, H, W]``."""
    tint = torch.as_tensor(WATER_COLOUR, dtype=image.dtype)[:, None, None]
    return torch.where(mask.bool()[None], image * (1 - alpha) + tint * alpha, image)


def _draw_boxes(
    axes: Axes, boxes: Tensor, labels: list[str] | None = None, colour: str | None = None
) -> None:
    """Outlines pixel-edge ``(x1, y1, x2, y2)`` boxes (imshow centres pixel ``i`` at ``i``)."""
    for number, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        edge = colour or CLASS_COLOURS[number % len(CLASS_COLOURS)]
        rectangle = Rectangle(
            (x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=edge, lw=1.5
        )
        axes.add_patch(rectangle)
        if labels is not None:
            axes.text(
                x1,
                y1 - 2,
                labels[number],
                color=edge,
                fontsize=8,
                va="bottom",
                bbox={"facecolor": "black", "alpha": 0.55, "pad": 0.8, "linewidth": 0},
            )


def _class_boxes(axes: Axes, target: dict[str, Tensor], classes: tuple[str, ...]) -> None:
    names = [classes[int(label) - 1] for label in target["labels"]]
    for name, box in zip(names, target["boxes"], strict=True):
        colour = CLASS_COLOURS[classes.index(name) % len(CLASS_COLOURS)]
        _draw_boxes(axes, box[None], [name], colour)


# ----------------------------------------------------------------------------- water


def _water_fraction(mask_path: Path) -> float:
    """Fraction of a mask's pixels that are water, from a fast 1/8-scale JPEG decode."""
    with Image.open(mask_path) as file:
        file.draft("L", (file.width // 8, file.height // 8))
        return float((np.asarray(file.convert("L")) > 127).mean())


def water_sample(index: int = 3) -> Figure:
    """A water tile beside its ground-truth mask."""
    image, mask = SegmentationFolder(WATER_ROOT, SIZE, indices=[index])[0]
    figure = Figure(figsize=(7, 3.6))
    left, right = figure.subplots(1, 2)
    _show(left, image, "image")
    _show(right, mask, "ground-truth mask (white = water)")
    return figure


def water_overlay(index: int = DIAGONAL_RIVER) -> Figure:
    """The mask over the image, with its tight box: on a diagonal river the box is mostly land."""
    dataset = course.load("dataset", "solutions")
    image, mask = SegmentationFolder(WATER_ROOT, SIZE, indices=[index])[0]
    box = dataset.masks_to_boxes(mask[None]) + EDGE  # pixel edges
    x1, y1, x2, y2 = box[0].tolist()
    fill = float(mask.sum()) / ((x2 - x1 + 1) * (y2 - y1 + 1))
    figure = Figure(figsize=(7, 3.6))
    left, right = figure.subplots(1, 2)
    _show(left, _overlay(image, mask), "mask over the image")
    _show(right, _overlay(image, mask), f"tight box: water fills {fill:.0%} of it")
    _draw_boxes(right, box, colour="#ffd23f")
    return figure


def water_split(test_ratio: float = 0.1, seed: int = 0) -> Figure:
    """The train/test split: sizes, and water cover of each image in each part."""
    dataset = course.load("dataset", "solutions")
    folder = SegmentationFolder(WATER_ROOT, 64)
    train, test = dataset.train_test_split(len(folder.pairs), test_ratio, seed)
    cover = torch.tensor([_water_fraction(mask_path) for _, mask_path in folder.pairs])  # [N]
    figure = Figure(figsize=(8, 3.2))
    counts, histogram = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
    counts.bar(["train", "test"], [len(train), len(test)], color=["#4b8bff", "#ff9f4b"])
    for position, value in enumerate([len(train), len(test)]):
        counts.text(position, value, str(value), ha="center", va="bottom", fontsize=9)
    counts.set_title(f"train_test_split(n={len(folder)}, test_ratio={test_ratio})", fontsize=9)
    bins = np.linspace(0, float(cover.max()) + 1e-6, 16)
    histogram.hist(
        cover[train].numpy(), bins=bins, alpha=0.7, density=True, label="train", color="#4b8bff"
    )
    histogram.hist(
        cover[test].numpy(), bins=bins, alpha=0.7, density=True, label="test", color="#ff9f4b"
    )
    histogram.set_xlabel("fraction of the image that is water")
    histogram.set_ylabel("density")
    histogram.set_title("both parts cover the same range of scenes", fontsize=9)
    histogram.legend(fontsize=8)
    figure.tight_layout()
    return figure


def water_augmented(index: int = DIAGONAL_RIVER) -> Figure:
    """A tile and its mask and box prompt, before and after flips and a brightness change."""
    augment = course.load("augment", "solutions")
    dataset = course.load("dataset", "solutions")
    image, mask = SegmentationFolder(WATER_ROOT, SIZE, indices=[index])[0]
    box = dataset.masks_to_boxes(mask[None]) + EDGE  # pixel edges
    flipped_image, flipped_mask, flipped_box = augment.hflip(image, mask, box)
    flipped_image, flipped_mask, flipped_box = augment.vflip(
        flipped_image, flipped_mask, flipped_box
    )
    flipped_image = augment.brightness_contrast(flipped_image, 0.12, 0.15)
    figure = Figure(figsize=(9, 5.2))
    axes = figure.subplots(2, 2)
    _show(axes[0, 0], image, "original")
    _show(axes[0, 1], mask, "mask and box prompt")
    _draw_boxes(axes[0, 1], box, colour="#ffd23f")
    _show(axes[1, 0], flipped_image, "hflip + vflip + brightness 0.12, contrast 0.15")
    _show(axes[1, 1], flipped_mask, "the mask and box moved with the pixels")
    _draw_boxes(axes[1, 1], flipped_box, colour="#ffd23f")
    figure.tight_layout()
    return figure


def water_contact_sheet(root: str | Path = WATER_ROOT, count: int = 16, columns: int = 4) -> Figure:
    """Water tiles spread over the set, each with its mask tinted over it and its box outlined."""
    dataset = course.load("dataset", "solutions")
    folder = SegmentationFolder(root, 160)
    chosen = np.linspace(0, len(folder) - 1, min(count, len(folder))).round().astype(int)
    rows = -(-len(chosen) // columns)
    figure = Figure(figsize=(2.2 * columns, 2.3 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns)).reshape(-1)
    for place, index in zip(axes, chosen, strict=False):
        image, mask = folder[int(index)]
        _show(place, _overlay(image, mask), folder.pairs[int(index)][0].name)
        if mask.any():
            _draw_boxes(place, dataset.masks_to_boxes(mask[None]) + EDGE, colour="#ffd23f")
    for place in axes[len(chosen) :]:
        place.axis("off")
    figure.suptitle(
        f"{Path(root).name}: {len(folder)} images (water tinted blue, tight box in yellow)"
    )
    figure.tight_layout()
    return figure


# ----------------------------------------------------------------------------- shapes


def shapes_sample(shown: int = 3) -> Figure:
    """Detection samples with the boxes of their VOC annotations, one, three and five objects."""
    folder = DetectionFolder(SHAPES_ROOT, "train")
    # images with different numbers of objects (the set has 1 to 5 per image), many first
    by_count: dict[int, int] = {}
    for index, annotation in enumerate(folder.annotations):
        by_count.setdefault(len(annotation.boxes), index)
    wanted = [count for count in (1, 3, 5, 2, 4) if count in by_count][:shown]
    indices = tuple(by_count[count] for count in sorted(wanted)) or (0,)
    figure = Figure(figsize=(2.45 * len(indices), 2.2))
    for place, index in zip(np.atleast_1d(figure.subplots(1, len(indices))), indices, strict=True):
        image, target = folder[index]
        count = len(target["boxes"])
        _show(place, image, f"{folder.ids[index]}: {count} object{'s' if count != 1 else ''}")
        _class_boxes(place, target, folder.classes)
    figure.tight_layout()
    return figure


def _rows_not_columns(
    boxes: Tensor, old_size: tuple[int, int], new_size: tuple[int, int]
) -> Tensor:
    """The rows-for-columns resizing bug: ``boxes[0] * M / width`` scales box 0 (a row), not the x column."""
    (old_height, old_width), (new_height, new_width) = old_size, new_size
    wrong = boxes.clone()
    for row, scale in zip(
        range(4), (new_width / old_width, new_height / old_height) * 2, strict=False
    ):
        if row < len(wrong):
            wrong[row] = wrong[row] * scale
    return wrong


def shapes_resize(new_size: tuple[int, int] = (224, 224)) -> Figure:
    """Boxes before and after resizing 320x240 to 224x224: by columns (middle, correct) and by rows (right, wrong)."""
    dataset = course.load("dataset", "solutions")
    folder = DetectionFolder(SHAPES_ROOT, "train")
    index = next(i for i in range(len(folder)) if len(folder.annotations[i].names) >= 4)
    image, target = folder[index]
    old_size = tuple(image.shape[-2:])
    resized = torch.nn.functional.interpolate(
        image[None], size=new_size, mode="bilinear", antialias=True
    )[0]
    right = dict(target, boxes=dataset.resize_boxes(target["boxes"], old_size, new_size))
    wrong = dict(target, boxes=_rows_not_columns(target["boxes"], old_size, new_size))
    figure = Figure(figsize=(7.6, 2.5))
    axes = figure.subplots(1, 3, gridspec_kw={"width_ratios": [320 / 240, 1, 1]})
    _show(axes[0], image, f"original {old_size[1]}x{old_size[0]}")
    _class_boxes(axes[0], target, folder.classes)
    _show(axes[1], resized.clamp(0, 1), f"{new_size[1]}x{new_size[0]}: x and y columns scaled")
    _class_boxes(axes[1], right, folder.classes)
    _show(axes[2], resized.clamp(0, 1), "wrong: rows 0..3 scaled")
    _class_boxes(axes[2], wrong, folder.classes)
    figure.tight_layout()
    return figure


def shapes_contact_sheet(
    root: str | Path = SHAPES_ROOT, count: int = 16, columns: int = 4
) -> Figure:
    """Training images spread over the shapes set, with their boxes and class names."""
    folder = DetectionFolder(root, "train")
    chosen = np.linspace(0, len(folder) - 1, min(count, len(folder))).round().astype(int)
    rows = -(-len(chosen) // columns)
    figure = Figure(figsize=(1.9 * columns, 1.6 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns)).reshape(-1)
    for place, index in zip(axes, chosen, strict=False):
        image, target = folder[int(index)]
        _show(place, image, folder.ids[int(index)])
        _class_boxes(place, target, folder.classes)
    for place in axes[len(chosen) :]:
        place.axis("off")
    figure.suptitle(
        f"{Path(root).name}: {len(folder)} training images, classes {', '.join(folder.classes)}"
    )
    figure.tight_layout()
    return figure


FIGURES = {
    "water-sample": water_sample,
    "water-mask-overlay": water_overlay,
    "water-split": water_split,
    "water-augmented": water_augmented,
    "water-contact-sheet": water_contact_sheet,
    "shapes-sample": shapes_sample,
    "shapes-resize": shapes_resize,
    "shapes-contact-sheet": shapes_contact_sheet,
}
