"""Figures of lessons 8 and 9: sampled RoIs, per-class NMS, loss curves and detections.

The two lesson figures use the reference solutions on one bundled shapes image, with
hand-made proposals and scores (no trained model: they draw in well under a second).
``loss_curves_figure`` and ``detections_figure`` are also what ``bam train detector`` saves
into its run folder.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
import torchvision
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from torch import Tensor

from bam import course
from bam.configs import SHAPES_ROOT
from bam.data.datasets import load_image, read_voc_annotation

CLASS_COLOURS = ("#e71d36", "#2ec4b6", "#ff9f1c", "#7b2cbf", "#3a86ff", "#8ac926")
LOSS_LABELS = {
    "loss_objectness": "RPN objectness",
    "loss_rpn_box_reg": "RPN box regression",
    "loss_classifier": "head classification",
    "loss_box_reg": "head box regression",
}
YOLO_LOSS_LABELS = {  # lesson 10's four terms (solutions/yolo.py yolo_loss)
    "loss_box": "box (offsets and log sizes)",
    "loss_objectness": "objectness (responsible anchors)",
    "loss_no_object": "no object (other anchors)",
    "loss_class": "classification",
}
TITLES = {"faster_rcnn": "Faster R-CNN training", "yolo": "YOLO training"}


def model_of_losses(names: Sequence[str]) -> str:
    """``"yolo"`` when the losses are YOLO's (``loss_no_object``...), else ``"faster_rcnn"``."""
    return "yolo" if set(names) & {"loss_no_object", "loss_box", "loss_class"} else "faster_rcnn"


def _colour(label: int) -> str:
    return CLASS_COLOURS[(label - 1) % len(CLASS_COLOURS)]


def _box(axes: Axes, box: Sequence[float], colour: str, **style: object) -> None:
    x1, y1, x2, y2 = (float(value) for value in box)
    corner = (x1 - 0.5, y1 - 0.5)  # pixel-edge box; imshow centres pixel i at i
    axes.add_patch(Rectangle(corner, x2 - x1, y2 - y1, fill=False, edgecolor=colour, **style))


def _show(axes: Axes, image: Tensor, title: str) -> None:
    axes.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def _scene() -> tuple[Tensor, Tensor, Tensor, tuple[str, ...]]:
    """The first bundled shapes image with 3+ objects: image, boxes, labels (1..C), class names."""
    classes = ("circle", "square", "triangle")
    for path in sorted((SHAPES_ROOT / "Annotations").glob("*.xml"))[:40]:
        annotation = read_voc_annotation(path)
        image_path = SHAPES_ROOT / "JPEGImages" / annotation.filename
        if len(annotation.boxes) >= 3 and image_path.exists():
            labels = torch.tensor([classes.index(name) + 1 for name in annotation.names])
            return load_image(image_path), torch.from_numpy(annotation.boxes), labels, classes
    image = torch.full((3, 240, 320), 0.8)  # no bundled data: a grey canvas with two boxes
    return (
        image,
        torch.tensor([[40.0, 50.0, 120.0, 130.0], [180.0, 80.0, 260.0, 190.0]]),
        torch.tensor([1, 3]),
        classes,
    )


def sampled_rois_figure() -> Figure:
    """Lesson 8: which RoIs ``sample_proposals`` picks (a sample of 64 here, the Fast R-CNN paper's per-image number; training draws 128), and what each is taught to predict."""
    head = course.load("head", "solutions")

    image, gt_boxes, gt_labels, classes = _scene()
    generator = torch.Generator().manual_seed(0)
    height, width = image.shape[-2:]
    # stand-in proposals: the objects, shaken, plus boxes anywhere (a young RPN's output)
    shaken = gt_boxes.repeat(12, 1) + torch.randn(12 * len(gt_boxes), 4, generator=generator) * 12
    corners = torch.rand(150, 2, generator=generator) * torch.tensor([width - 30.0, height - 30.0])
    sizes = 20 + torch.rand(150, 2, generator=generator) * 70
    anywhere = torch.cat([corners, corners + sizes], dim=1)
    proposals = torch.cat([shaken, anywhere])
    proposals = torch.stack(
        [
            proposals[:, 0].clamp(0, width - 2),
            proposals[:, 1].clamp(0, height - 2),
            torch.maximum(proposals[:, 2], proposals[:, 0] + 2).clamp(max=width),
            torch.maximum(proposals[:, 3], proposals[:, 1] + 2).clamp(max=height),
        ],
        dim=1,
    )
    rois, labels, _ = head.sample_proposals(
        proposals, gt_boxes, gt_labels, batch_size=64, generator=generator
    )

    figure, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.7))
    _show(left, image, f"{len(proposals)} proposals\n+ {len(gt_boxes)} ground-truth boxes (dashed)")
    for box in proposals:
        _box(left, box, "white", linewidth=0.5, alpha=0.5)
    for box, label in zip(gt_boxes, gt_labels.tolist(), strict=True):
        _box(left, box, _colour(label), linewidth=2, linestyle="--")
    positives = int((labels > 0).sum())
    _show(
        right,
        image,
        f"sampled: {positives} positives (by class),\n{len(rois) - positives} background",
    )
    for box, label in zip(rois, labels.tolist(), strict=True):
        if label == 0:
            _box(right, box, "black", linewidth=0.6, alpha=0.6)
    for box, label in zip(rois, labels.tolist(), strict=True):
        if label > 0:
            _box(right, box, _colour(label), linewidth=1.3)
    handles = [
        Line2D([], [], color=_colour(index + 1), label=name) for index, name in enumerate(classes)
    ]
    handles.append(Line2D([], [], color="black", label="background (IoU < 0.5)"))
    right.legend(handles=handles, fontsize=8, loc="lower right")
    figure.suptitle(
        "sample_proposals: IoU >= 0.5 with an object makes a positive of its class,"
        " at most 25% positives",
        fontsize=9.5,
    )
    figure.tight_layout()
    return figure


def _overlapping_scene() -> tuple[Tensor, Tensor, Tensor, tuple[str, ...]]:
    """A drawn scene where a square overlaps a circle (IoU 0.57) and a triangle stands apart."""
    classes = ("circle", "square", "triangle")
    height, width = 200, 300
    ys, xs = torch.meshgrid(
        torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij"
    )  # pixel centres
    image = torch.full((3, height, width), 0.82)
    image += 0.04 * torch.sin(xs / 9) * torch.cos(ys / 13)  # a little texture
    circle = (xs - 110) ** 2 + (ys - 100) ** 2 <= 50**2  # box (60, 50, 160, 150)
    square = (xs >= 85) & (xs < 175) & (ys >= 60) & (ys < 155)  # box (85, 60, 175, 155)
    triangle = (ys >= 60) & (ys < 140) & ((xs - 250).abs() <= (ys - 60) / 2)  # (210, 60, 290, 140)
    for mask, colour in (
        (circle, (0.89, 0.11, 0.21)),
        (square, (0.18, 0.77, 0.71)),
        (triangle, (1.0, 0.62, 0.11)),
    ):
        for channel, value in enumerate(colour):
            image[channel][mask] = 0.45 * image[channel][mask] + 0.55 * value
    boxes = torch.tensor(
        [[60.0, 50.0, 160.0, 150.0], [85.0, 60.0, 175.0, 155.0], [210.0, 60.0, 290.0, 140.0]]
    )
    return image.clamp(0, 1), boxes, torch.tensor([1, 2, 3]), classes


def per_class_nms_figure() -> Figure:
    """Lesson 8: a square overlapping a circle (IoU 0.57): one NMS over all classes deletes one of the two true objects, NMS per class keeps both."""
    head = course.load("head", "solutions")
    box_iou = course.load("metrics", "solutions").box_iou

    image, gt_boxes, gt_labels, classes = _overlapping_scene()
    generator = torch.Generator().manual_seed(1)
    num_classes = len(classes) + 1
    # each object gets 6 RoIs around it, and the head is fairly sure of each RoI's class
    proposals = (
        gt_boxes.repeat_interleave(6, dim=0)
        + torch.randn(6 * len(gt_boxes), 4, generator=generator) * 2
    )
    logits = torch.randn(len(proposals), num_classes, generator=generator)
    logits[torch.arange(len(proposals)), gt_labels.repeat_interleave(6)] += 4.0
    deltas = torch.zeros(len(proposals), num_classes * 4)
    size = tuple(image.shape[-2:])
    per_class = head.postprocess_detections(logits, deltas, proposals, size, score_thresh=0.3)
    everything = head.postprocess_detections(
        logits, deltas, proposals, size, score_thresh=0.3, nms_thresh=1.0
    )
    agnostic = torchvision.ops.nms(everything[0], everything[1], 0.5)  # one NMS over all classes
    overlap = float(box_iou(gt_boxes[:1], gt_boxes[1:2])[0, 0])
    figure, axes = plt.subplots(1, 3, figsize=(7.6, 2.9))
    panels = [
        (everything[0], everything[2], f"before NMS:\n{len(everything[0])} boxes above 0.3"),
        (
            everything[0][agnostic],
            everything[2][agnostic],
            f"one NMS for all classes:\n{len(agnostic)} left (wrong)",
        ),
        (per_class[0], per_class[2], f"NMS per class:\n{len(per_class[0])} left, one per object"),
    ]
    for panel, (found, found_labels, title) in zip(axes, panels, strict=True):
        _show(panel, image, title)
        for box, label in zip(found, found_labels.tolist(), strict=True):
            _box(panel, box, _colour(label), linewidth=1.4)
    handles = [
        Line2D([], [], color=_colour(index + 1), label=name) for index, name in enumerate(classes)
    ]
    axes[0].legend(handles=handles, fontsize=8, loc="upper left")
    figure.suptitle(
        f"The circle's and the square's boxes overlap with IoU {overlap:.2f} > 0.5", fontsize=10
    )
    figure.tight_layout()
    return figure


def loss_curves_figure(history: Sequence[dict], model: str | None = None) -> Figure:
    """The four losses per step and per epoch, and test mAP@0.5.

    Args:
        history: one record per epoch, as written by ``bam train detector`` or ``bam train
            yolo`` (``steps``: a list of the four losses per step; ``map``; the mean losses).
        model: ``"faster_rcnn"`` or ``"yolo"``: the title and the losses' names (default: told
            from the losses' keys).
    """
    figure, (losses_axes, map_axes) = plt.subplots(1, 2, figsize=(11, 3.8))
    names = [key for key in history[0] if key.startswith("loss_")] if history else []
    model = model or model_of_losses(names)
    labels = YOLO_LOSS_LABELS if model == "yolo" else LOSS_LABELS
    step, starts = 0, []
    for record in history:
        starts.append(step)
        step += len(record.get("steps", [])) or 1
    for index, name in enumerate(names):
        xs, ys = [], []
        for record, start in zip(history, starts, strict=True):
            steps = record.get("steps", [])
            xs += [start + offset for offset in range(len(steps))]
            ys += [values[index] for values in steps]
        line = losses_axes.plot(xs, ys, linewidth=0.6, alpha=0.35)[0] if xs else None
        colour = line.get_color() if line is not None else None
        epoch_ends = [
            start + max(len(record.get("steps", [])), 1)
            for record, start in zip(history, starts, strict=True)
        ]
        losses_axes.plot(
            epoch_ends,
            [record[name] for record in history],
            "o-",
            color=colour,
            label=labels.get(name, name.removeprefix("loss_").replace("_", " ")),
            markersize=3,
        )
    losses_axes.set_yscale("log")
    losses_axes.set_xlabel("step")
    losses_axes.set_ylabel("loss (per step, and epoch mean)")
    losses_axes.legend(fontsize=8)
    epochs = [record["epoch"] for record in history]
    map_axes.plot(epochs, [record["map"] for record in history], "o-", color="black")
    map_axes.set_ylim(0, 1)
    map_axes.set_xlabel("epoch")
    map_axes.set_ylabel("test mAP@0.5")
    map_axes.grid(alpha=0.3)
    figure.suptitle(TITLES.get(model, f"{model} training"))
    figure.tight_layout()
    return figure


def detections_figure(
    images: Sequence[Tensor],
    detections: Sequence[dict[str, Tensor]],
    truths: Sequence[dict[str, Tensor]] | None,
    classes: Sequence[str],
    score_thresh: float = 0.5,
) -> Figure:
    """Images with their detections (solid, class and score) and ground truth (dashed).

    Args:
        images: float ``[3, H, W]`` images in [0, 1].
        detections: one ``{"boxes", "scores", "labels"}`` dict per image.
        truths: one ``{"boxes", "labels"}`` dict per image, or ``None``.
        classes: class names; label ``i`` is ``classes[i - 1]``.
        score_thresh: detections scored lower are not drawn.
    """
    count = max(len(images), 1)
    columns = min(count, 3)
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), squeeze=False)
    for index, panel in enumerate(axes.flat):
        if index >= len(images):
            panel.axis("off")
            continue
        detection = detections[index]
        keep = detection["scores"] >= score_thresh
        _show(panel, images[index], f"{int(keep.sum())} detections (score >= {score_thresh:g})")
        if truths is not None:
            for box, label in zip(
                truths[index]["boxes"], truths[index]["labels"].tolist(), strict=True
            ):
                _box(panel, box, _colour(label), linewidth=1, linestyle="--")
        for box, score, label in zip(
            detection["boxes"][keep],
            detection["scores"][keep].tolist(),
            detection["labels"][keep].tolist(),
            strict=True,
        ):
            _box(panel, box, _colour(label), linewidth=1.8)
            name = classes[label - 1] if 0 < label <= len(classes) else str(label)
            panel.text(float(box[0]), float(box[1]) - 2, f"{name} {score:.2f}", color="white", fontsize=7,
                       bbox={"facecolor": _colour(label), "alpha": 0.8, "pad": 1, "linewidth": 0})  # fmt: skip
    figure.tight_layout()
    return figure


FIGURES = {
    "head-sampled-rois": sampled_rois_figure,
    "head-per-class-nms": per_class_nms_figure,
}
