"""Instance masks drawn on their image: ``bam predict instances``' pictures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure
    from torch import Tensor


def _rgb(colour: str) -> np.ndarray:
    import numpy as np
    from matplotlib.colors import to_rgb

    return np.array(to_rgb(colour))


def draw_instances(
    axes,
    image: Tensor,
    result: dict[str, Tensor],
    classes: Sequence[str],
    title: str,
    alpha: float = 0.5,
) -> None:
    """One image with its instances: masks filled in the class colour and outlined, boxes, labels.

    Args:
        axes: a matplotlib ``Axes``.
        image: Tensor[3, H, W] float in [0, 1].
        result: ``{"masks": [K, H, W] bool, "labels": [K]}`` and optionally ``"boxes"`` [K, 4]
            (pixel edges, drawn solid) and ``"scores"`` [K] (printed after the class).
        classes: class names; label ``i`` is ``classes[i - 1]``.
        title: the panel's title.
        alpha: opacity of the mask fill.
    """
    from bam.plots.detector import _box, _colour

    picture = image.permute(1, 2, 0).clamp(0, 1).numpy().copy()  # [H, W, 3]
    masks = result["masks"].cpu().bool().numpy()
    labels = result["labels"].cpu().tolist()
    for mask, label in zip(masks, labels, strict=True):
        picture[mask] = picture[mask] * (1 - alpha) + _rgb(_colour(label)) * alpha
    axes.imshow(picture, interpolation="nearest")
    for mask in masks:
        if mask.any():  # the outline: a contour at the mask's edge, between pixel centres
            axes.contour(mask.astype(float), levels=[0.5], colors="white", linewidths=0.8)
    scores = result.get("scores")
    for number, label in enumerate(labels):
        name = classes[label - 1] if 0 < label <= len(classes) else str(label)
        if "boxes" not in result:
            continue
        box = result["boxes"][number].cpu()
        _box(axes, box, _colour(label), linewidth=1.2)
        text = name if scores is None else f"{name} {float(scores[number]):.2f}"
        axes.text(float(box[0]), float(box[1]) - 2, text, color="white", fontsize=7,
                  bbox={"facecolor": _colour(label), "alpha": 0.8, "pad": 1, "linewidth": 0})  # fmt: skip
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def instances_figure(
    images: Sequence[Tensor],
    results: Sequence[dict[str, Tensor]],
    classes: Sequence[str],
    truths: Sequence[dict[str, Tensor] | None] | None = None,
    names: Sequence[str] | None = None,
) -> Figure:
    """Images with their instance masks, one row each; the ground truth beside where given.

    Args:
        images: Tensor[3, H, W] images in [0, 1].
        results: per image ``{"boxes", "scores", "labels", "masks"}`` (``segment_instances``).
        classes: class names; label ``i`` is ``classes[i - 1]``.
        truths: per image ``{"boxes", "labels", "masks"}`` or ``None``; ``None``: no column.
        names: a title for each image (its file name).
    """
    import numpy as np
    from matplotlib.figure import Figure

    with_truth = truths is not None and any(truth is not None for truth in truths)
    columns = 2 if with_truth else 1
    rows = max(len(images), 1)
    figure = Figure(figsize=(4.2 * columns, 3.3 * rows))
    axes = np.array(figure.subplots(rows, columns, squeeze=False))
    for row, (image, result) in enumerate(zip(images, results, strict=True)):
        name = names[row] if names else f"image {row}"
        count = len(result["labels"])
        draw_instances(
            axes[row, 0], image, result, classes,
            f"{name}: {count} instance{'s' if count != 1 else ''} (detector -> SAM)",
        )  # fmt: skip
        if with_truth:
            truth = truths[row]
            if truth is None:
                axes[row, 1].axis("off")
                continue
            draw_instances(axes[row, 1], image, truth, classes, f"{name}: ground truth")
    figure.tight_layout()
    return figure
