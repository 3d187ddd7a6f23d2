"""Figures of lesson 4: box prompts, the tiny SAM's pretraining data, its predictions, and the
figures a fine-tuning run writes (loss/IoU/Dice curves, one prediction figure per test image).

The docs figures use the reference ``solutions``; the run figures use whichever lesson modules
the run used (a student release has no ``solutions``), so ``solutions`` is imported lazily.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from bam import course
from bam.configs import PRETRAINED_TINY_SAM, WATER_ROOT
from bam.data.datasets import InstanceMaskFolder, SegmentationFolder
from bam.sam_model import load_sam, probabilities

SIZE = 256
DIAGONAL_RIVER = 10  # a water tile whose river runs diagonally (as in bam.plots.data)
WATER_COLOUR = np.array([0.1, 0.6, 1.0])


def _show(axes: Axes, picture: Tensor, title: str, cmap: str | None = None) -> None:
    pixels = picture.permute(1, 2, 0).numpy() if picture.dim() == 3 else picture.float().numpy()
    axes.imshow(pixels, cmap=cmap or ("gray" if picture.dim() == 2 else None), vmin=0, vmax=1)
    axes.set_title(title, fontsize=8)
    axes.set_xticks([])
    axes.set_yticks([])


def _box(axes: Axes, box: Tensor, colour: str = "#ffd23f", style: str = "-") -> None:
    """Outlines a pixel-edge ``(x1, y1, x2, y2)`` box (imshow centres pixel ``i`` at ``i``)."""
    x1, y1, x2, y2 = box.tolist()
    axes.add_patch(
        Rectangle(
            (x1 - 0.5, y1 - 0.5),
            x2 - x1,
            y2 - y1,
            fill=False,
            edgecolor=colour,
            lw=1.5,
            ls=style,
        )
    )


def _overlay(image: Tensor, mask: Tensor, alpha: float = 0.45) -> Tensor:
    tint = torch.as_tensor(WATER_COLOUR, dtype=image.dtype)[:, None, None]
    return torch.where(mask.bool()[None], image * (1 - alpha) + tint * alpha, image)


def _filled(box: Tensor, shape: tuple[int, int]) -> Tensor:
    x1, y1, x2, y2 = box.long().tolist()
    filled = torch.zeros(shape, dtype=torch.bool)
    filled[y1:y2, x1:x2] = True  # pixel-edge box: pixels x1 .. x2 - 1
    return filled


# ----------------------------------------------------------------------------- docs figures


def box_prompts(index: int = DIAGONAL_RIVER) -> Figure:
    """The box prompt of a diagonal river: tight, jittered, and the box itself as a mask."""
    metrics, sam = course.load("metrics", "solutions"), course.load("sam", "solutions")

    image, mask = SegmentationFolder(WATER_ROOT, SIZE, indices=[index])[0]
    tight = sam.box_prompt(mask)
    generator = torch.Generator().manual_seed(0)
    jittered = [sam.box_prompt(mask, jitter=12, generator=generator) for _ in range(4)]
    filled = _filled(tight, tuple(mask.shape))
    dice = float(metrics.dice_coefficient(filled[None], mask.bool()[None])[0])
    figure = Figure(figsize=(10, 3.6))
    left, middle, right = figure.subplots(1, 3)
    _show(left, _overlay(image, mask), "box_prompt(mask): the tight box")
    _box(left, tight)
    _show(middle, image, "jitter=12: each side moves in or out")
    for box in jittered:
        _box(middle, box, "#ff4b4b", "--")
    _box(middle, tight)
    _show(
        right,
        _overlay(filled.float()[None].expand(3, -1, -1) * 0.8, mask),
        f"box as the mask: Dice {dice:.2f}",
    )
    return figure


def pretraining_data(count: int = 6) -> Figure:
    """What the tiny SAM was pretrained on: synthetic shapes, one box prompt per object."""
    from bam.data.sam_shapes import synthetic_batch

    images, masks, boxes = synthetic_batch(count, SIZE, torch.Generator().manual_seed(7))
    colours = ("#ff4b4b", "#ffd23f", "#3fd0ff")
    figure = Figure(figsize=(1.27 * count, 2.9))
    grid = figure.subplots(2, count)
    for column in range(count):
        _show(grid[0, column], images[column], f"image {column + 1}")
        labels = torch.zeros(masks.shape[-2:])
        for number, box in enumerate(boxes[column]):
            _box(grid[0, column], box, colours[number % len(colours)])
            labels = torch.where(masks[column, number], torch.tensor(float(number + 1)), labels)
        _show(
            grid[1, column],
            labels / masks.shape[1],
            f"its {len(boxes[column])} masks",
            cmap="viridis",
        )
    return figure


def pretrained_predictions(indices: tuple[int, ...] = (DIAGONAL_RIVER, 3, 17)) -> Figure:
    """The pretrained tiny SAM on water tiles, before any fine-tuning (box prompts from the masks)."""
    metrics, sam = course.load("metrics", "solutions"), course.load("sam", "solutions")

    model = load_sam(PRETRAINED_TINY_SAM).eval()
    data = SegmentationFolder(WATER_ROOT, SIZE, indices=list(indices))
    samples = [data[position] for position in range(len(data))]
    images = torch.stack([image for image, _ in samples])
    masks = torch.stack([mask for _, mask in samples])
    boxes = torch.stack([sam.box_prompt(mask) for mask in masks])
    chances = probabilities(model, images, boxes)
    predicted = sam.predict_masks(model, images, boxes)
    dice = metrics.dice_coefficient(predicted, masks.bool())
    figure = Figure(figsize=(8.4, 2.3 * len(indices)))
    grid = figure.subplots(len(indices), 4, squeeze=False)
    for row in range(len(indices)):
        prediction_row(grid[row], images[row], boxes[row], predicted[row], chances[row], masks[row])
        grid[row, 1].set_title(f"predicted mask (Dice {float(dice[row]):.2f})", fontsize=8)
    figure.suptitle("pretrained tiny SAM, before fine-tuning on water", fontsize=10)
    return figure


FIGURES = {
    "sam-box-prompts": box_prompts,
    "sam-pretraining-data": pretraining_data,
    "sam-pretrained-predictions": pretrained_predictions,
}


# ----------------------------------------------------------------------------- run figures


def prediction_row(
    axes, image: Tensor, box: Tensor, predicted: Tensor, chances: Tensor, truth: Tensor
) -> None:
    """Input with its box, predicted mask, probability map, ground truth."""
    _show(axes[0], image, "input and box prompt")
    _box(axes[0], box)
    _show(axes[1], predicted, "predicted mask")
    _show(axes[2], chances, "probability", cmap="magma")
    picture = axes[2].images[-1]
    bar = axes[2].figure.colorbar(picture, ax=axes[2], fraction=0.046, pad=0.03, ticks=[0, 0.5, 1])
    bar.ax.tick_params(labelsize=7.5)
    _show(axes[3], truth, "ground truth")


def curves(history: list[dict[str, float]]) -> Figure:
    """Training loss, test IoU and test Dice per epoch."""
    epochs = [entry["epoch"] for entry in history]
    figure = Figure(figsize=(10, 3))
    for axes, key, title in zip(
        figure.subplots(1, 3),
        ("train_loss", "test_iou", "test_dice"),
        ("DiceCE loss (train)", "IoU (test)", "Dice (test)"),
        strict=True,
    ):
        axes.plot(epochs, [entry[key] for entry in history], marker="o")
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def save_run_figures(
    run_dir: Path,
    history: list[dict[str, float]],
    model: torch.nn.Module,
    test_data: SegmentationFolder | InstanceMaskFolder,
    modules: dict[str, ModuleType],
) -> None:
    """Writes ``curves.png`` and ``predictions/<image name>.png`` (one per test image).

    Args:
        modules: the run's lesson modules (``sam`` and ``metrics``), whose exercises draw them.
    """
    import matplotlib.pyplot as plt

    figure = curves(history)
    figure.savefig(run_dir / "curves.png", dpi=100)
    plt.close(figure)
    out = run_dir / "predictions"
    out.mkdir(exist_ok=True)
    device = next(model.parameters()).device
    for position in range(len(test_data)):
        image, truth = test_data[position]
        if not truth.bool().any():
            continue
        box = modules["sam"].box_prompt(truth)
        images, boxes = image[None].to(device), box[None].to(device)
        predicted = modules["sam"].predict_masks(model, images, boxes)[0].cpu()
        chances = probabilities(model, images, boxes)[0].cpu()
        dice = float(modules["metrics"].dice_coefficient(predicted[None], truth.bool()[None])[0])
        figure = Figure(figsize=(8.8, 2.4))
        axes = figure.subplots(1, 4)
        prediction_row(axes, image, box, predicted, chances, truth)
        name = test_data.name(position)
        figure.suptitle(f"{name}: Dice {dice:.3f}", fontsize=9)
        figure.savefig(out / f"{name}.png", dpi=80, bbox_inches="tight")
        plt.close(figure)
