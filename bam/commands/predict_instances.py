"""``bam predict instances [IMAGE...]``: instance masks from a detector and a SAM.

Lesson 11's pipeline on image files: the detector (``--detector``: a ``bam train detector`` or
``bam train yolo`` run, or its ``checkpoint.pt``; the newest ``runs/detector-*`` by default)
finds the boxes — each image resized to the run's training
size, the boxes scaled back to the image's own pixels, as ``bam predict detector`` — and
``segment_instances`` prompts the SAM (``--sam``: the bundled pretrained tiny SAM by default,
or a ``bam train sam`` run) with them. Prints one line per instance and saves
``<name>.instances.png`` into ``--out``: each instance's mask filled in its class's colour and
outlined, its box and ``class score`` as ``bam predict detector`` draws them. An image that sits
in a VOC folder with instance masks (``.../JPEGImages/<id>.jpg`` next to
``.../SegmentationObject/<id>.png``) gets its ground truth drawn beside it with ``--truth``;
``--sheet FILE`` also saves all the images in one figure. Without images: the first four test
images of ``data/shapes``, with their ground truth.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure
    from torch import Tensor

DESCRIPTION = "instance masks of image files: a detector run's boxes prompt a SAM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.implementations import add_impl_argument

    parser.add_argument(
        "images",
        nargs="*",
        help="image files (jpg, png, ...); default: the first 4 test images of data/shapes,"
        " with their ground truth",
    )
    parser.add_argument(
        "--detector",
        metavar="RUN",
        default=None,
        help="a run folder of bam train detector (or yolo), or its checkpoint.pt (default: the"
        " newest runs/detector-* with a checkpoint)",
    )
    parser.add_argument(
        "--sam",
        metavar="DIR",
        default=None,
        help="the SAM: a save_pretrained folder or a bam train sam run folder"
        " (default: the bundled pretrained tiny SAM)",
    )
    parser.add_argument(
        "--out", default=None, help="folder for the PNGs (default: the detector run's instances/)"
    )
    parser.add_argument(
        "--score", type=float, default=0.5, help="detections scoring above this (default 0.5)"
    )
    parser.add_argument(
        "--truth", action="store_true", help="draw the ground truth beside, where there is one"
    )
    parser.add_argument(
        "--sheet", metavar="FILE", default=None, help="also save all images in one figure"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    add_impl_argument(parser)


# ----------------------------------------------------------------------------- drawing


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


def voc_truth(image_path: Path, classes: Sequence[str]) -> dict[str, Tensor] | None:
    """The ground truth of an image in a VOC folder with instance masks, or ``None``.

    ``.../JPEGImages/<id>.<ext>`` with ``.../Annotations/<id>.xml`` and
    ``.../SegmentationObject/<id>.png`` beside it: ``{"boxes", "labels", "masks"}``.
    """
    import torch

    from bam.datasets import instance_masks, read_palette_png, read_voc_annotation

    root, image_id = image_path.parent.parent, image_path.stem
    xml = root / "Annotations" / f"{image_id}.xml"
    png = root / "SegmentationObject" / f"{image_id}.png"
    if image_path.parent.name != "JPEGImages" or not xml.is_file() or not png.is_file():
        return None
    annotation = read_voc_annotation(xml)
    if any(name not in classes for name in annotation.names):
        return None
    labels = [list(classes).index(name) + 1 for name in annotation.names]
    class_png = root / "SegmentationClass" / f"{image_id}.png"
    class_map = read_palette_png(class_png) if class_png.is_file() else None
    masks = instance_masks(read_palette_png(png), labels, class_map, png, class_png)
    return {
        "boxes": torch.from_numpy(annotation.boxes),
        "labels": torch.tensor(labels),
        "masks": torch.from_numpy(masks),
    }


# ----------------------------------------------------------------------------- the command


def run(args: argparse.Namespace) -> int:
    import sys

    import matplotlib.pyplot as plt

    from bam.commands.compare_instances import (
        detect,
        detector_run_dir,
        load_detector,
        load_instances,
        sam_folder,
    )
    from bam.configs import PRETRAINED_TINY_SAM, SHAPES_ROOT
    from bam.course import UnfinishedExercises
    from bam.datasets import DatasetError, load_image
    from bam.implementations import ImplementationUnavailable
    from bam.sam_model import load_sam
    from bam.train import pick_device

    device = pick_device(args.device)
    try:
        instances = load_instances(args.impl, "bam predict instances")["instances"]
        run_dir = detector_run_dir(args.detector)
        model, config = load_detector(run_dir, args.impl, device)
        sam = load_sam(sam_folder(args.sam or PRETRAINED_TINY_SAM), device=device).eval()
    except (UnfinishedExercises, ImplementationUnavailable, FileNotFoundError, ValueError) as error:
        print(f"bam predict instances: {error}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else run_dir / "instances"
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    shown: tuple[list, list, list, list] = ([], [], [], [])
    names, with_truth = args.images, args.truth
    if not names:  # the first test images of the bundled shapes, with their ground truth
        split = (SHAPES_ROOT / "ImageSets" / "Main" / "test.txt").read_text().split()
        names = [str(SHAPES_ROOT / "JPEGImages" / f"{image_id}.jpg") for image_id in split[:4]]
        with_truth = True
    for name in names:
        path = Path(name)
        try:
            if not path.is_file():
                raise DatasetError(f"{path}: file not found")
            image = load_image(path)  # [3, H, W]
            truth = voc_truth(path, config.classes) if with_truth else None
        except DatasetError as error:
            print(f"bam predict instances: {error}", file=sys.stderr)
            status = 1
            continue
        found = detect(model, config.image_size, image)
        result = instances.segment_instances(sam, image, found, args.score)
        result = {key: value.cpu() for key, value in result.items()}
        print(f"{path}: {len(result['labels'])} instances")
        for box, score, label, mask in zip(
            result["boxes"], result["scores"], result["labels"], result["masks"], strict=True
        ):
            corners = ", ".join(f"{value:.0f}" for value in box.tolist())
            print(
                f"  {config.classes[int(label) - 1]:<10} {float(score):.2f}  box ({corners})"
                f"  mask {int(mask.sum())} px"
            )
        figure = instances_figure([image], [result], config.classes, [truth], [path.name])
        target = out / f"{path.stem}.instances.png"
        figure.savefig(target, dpi=110, bbox_inches="tight")
        plt.close(figure)
        print(f"  saved {target}")
        for collected, item in zip(shown, (image, result, truth, path.name), strict=True):
            collected.append(item)
    if args.sheet and shown[0]:
        figure = instances_figure(*shown[:2], config.classes, shown[2], shown[3])
        Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.sheet, dpi=100, bbox_inches="tight")
        plt.close(figure)
        print(f"saved {args.sheet}")
    return status
