"""Lesson 11's pipeline, measured: instance masks from boxes, three ways (``bam compare instances``).

``compare_instances(...)`` scores, on a VOC folder's test split with instance masks, (a) the
detector's boxes filled as masks, (b) the detector's boxes prompting a SAM and (c) the true boxes
prompting it; ``markdown_table`` writes its table. The pieces (``load_detector``, ``detect``,
``detector_run_dir``, ``load_instances``, ``sam_folder``, ``voc_truth``) are shared with
``bam predict instances``. Torch is imported inside the functions, so importing this is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

# the exercises of lesson 11 (and lesson 3's AP under its mask AP) the comparison runs
INSTANCE_EXERCISES: dict[str, tuple[str, ...]] = {
    "metrics": ("average_precision",),
    "instances": (
        "boxes_to_prompts",
        "paste_masks",
        "mask_iou_matrix",
        "mask_average_precision",
        "segment_instances",
    ),
}
ROWS = {
    "a": "(a) detector boxes as masks",
    "b": "(b) detector boxes -> SAM",
    "c": "(c) ground-truth boxes -> SAM",
}


# ----------------------------------------------------------------------------- the pieces


def detector_run_dir(path: str | Path | None, runs: str | Path = "runs") -> Path:
    """The run folder of ``path``: the folder itself, or the folder of a ``checkpoint.pt``.

    ``None``: the newest ``runs/detector-*`` folder that holds a checkpoint.

    Raises:
        FileNotFoundError: for ``None`` when there is no such run.
    """
    if path is None:
        from bam.train.loop import CHECKPOINT

        found = sorted(
            (folder for folder in Path(runs).glob("detector-*") if (folder / CHECKPOINT).is_file()),
            key=lambda folder: (folder / CHECKPOINT).stat().st_mtime,
        )
        if not found:
            raise FileNotFoundError(
                f"no detector run with a {CHECKPOINT} under {runs}/: train one with"
                " `bam train detector`, or name one with --detector RUN"
            )
        return found[-1]
    path = Path(path)
    return path.parent if path.is_file() else path


def load_instances(impl: str, pipeline: str) -> dict[str, ModuleType]:
    """Lesson 11 (``instances``) and lesson 3 (``metrics``) of ``impl``, checked for stubs.

    Raises:
        UnfinishedExercises: naming every exercise the pipeline runs that is still a stub.
    """
    from bam import course
    from bam.course import require_finished

    require_finished(impl, INSTANCE_EXERCISES, pipeline)
    return {lesson: course.load(lesson, impl) for lesson in INSTANCE_EXERCISES}


def load_detector(path: str | Path, impl: str, device: torch.device) -> tuple[nn.Module, Any]:
    """A trained detector run (model in eval mode) and its ``TrainConfig``.

    Raises:
        UnfinishedExercises: if a detector exercise the model runs is a stub in ``impl``.
        FileNotFoundError: if ``path`` is not a run folder (or its checkpoint).
    """
    from bam.pipelines.detector import load_trained, read_config, require_finished

    run_dir = detector_run_dir(path)
    config = read_config(run_dir)
    require_finished(impl, config.pool, False, config.model)
    model, config = load_trained(run_dir, impl, str(device))
    return model, config


def detect(model: nn.Module, image_size: tuple[int, int], image: Tensor) -> dict[str, Tensor]:
    """The detector's output for one image, its boxes in the image's own pixels.

    Args:
        model: a course detector in eval mode (``model([image]) -> [{boxes, scores, labels}]``).
        image_size: ``(h, w)`` the detector was trained at; the image is resized to it
            (bilinear, antialiased, as ``DetectionFolder`` resized its training images).
        image: Tensor[3, H, W] float in [0, 1].

    Returns:
        ``{"boxes": [N, 4] (x1, y1, x2, y2) pixel edges in the H x W image, "scores": [N],
        "labels": [N]}`` on the CPU.
    """
    import torch

    height, width = image_size
    device = next(model.parameters()).device
    resized = torch.nn.functional.interpolate(
        image[None], size=(height, width), mode="bilinear", align_corners=False, antialias=True
    )[0].clamp(0, 1)
    with torch.no_grad():
        found = {key: value.cpu() for key, value in model([resized.to(device)])[0].items()}
    scale = torch.tensor([image.shape[2] / width, image.shape[1] / height] * 2)
    return {"boxes": found["boxes"] * scale, "scores": found["scores"], "labels": found["labels"]}


def filled_boxes(
    instances: ModuleType, boxes: Tensor, scores: Tensor, image_size: tuple[int, int]
) -> Tensor:
    """Boxes as masks, ``bool [N, H, W]``: the pixels whose centre is inside each box.

    Pixel ``(i, j)`` (centre ``(j + 0.5, i + 0.5)``) belongs to box ``(x1, y1, x2, y2)`` when
    ``x1 <= j + 0.5 < x2`` and ``y1 <= i + 0.5 < y2``; overlaps go to the higher score by
    lesson 11's ``paste_masks`` (given ``+1`` / ``-1`` logits at full resolution, where its
    upsampling is the identity), so the masks never overlap, like the SAM rows'.
    """
    import torch

    height, width = image_size
    x = torch.arange(width, dtype=torch.float32) + 0.5  # [W] pixel centres
    y = torch.arange(height, dtype=torch.float32) + 0.5  # [H]
    boxes = boxes.float().cpu()
    inside_x = (x[None] >= boxes[:, 0:1]) & (x[None] < boxes[:, 2:3])  # [N, W]
    inside_y = (y[None] >= boxes[:, 1:2]) & (y[None] < boxes[:, 3:4])  # [N, H]
    filled = inside_y[:, :, None] & inside_x[:, None, :]  # [N, H, W]
    logits = filled.float() * 2 - 1  # +1 inside, -1 outside
    return instances.paste_masks(logits, scores.float().cpu(), (height, width))


def best_ious(
    instances: ModuleType,
    predictions: list[dict[str, Tensor]],
    truths: list[dict[str, Tensor]],
    score: float,
) -> Tensor:
    """For every ground-truth instance (image by image), the IoU of its best same-class prediction.

    Predictions scoring ``score`` or less are left out; a ground truth with no same-class
    prediction gets 0. IoU by lesson 11's ``mask_iou_matrix``. ``Tensor[G_total]`` float32.
    """
    import torch

    values: list[Tensor] = [torch.zeros(0)]
    for prediction, truth in zip(predictions, truths, strict=True):
        kept = prediction["scores"] > score
        masks, labels = prediction["masks"][kept], prediction["labels"][kept]
        if len(labels) == 0:
            values.append(torch.zeros(len(truth["labels"])))
            continue
        ious = instances.mask_iou_matrix(truth["masks"], masks)  # [G, D]
        same = truth["labels"][:, None] == labels[None, :]  # [G, D]
        values.append(torch.where(same, ious, torch.zeros_like(ious)).max(dim=1).values.float())
    return torch.cat(values)


def matched_iou(
    instances: ModuleType,
    predictions: list[dict[str, Tensor]],
    truths: list[dict[str, Tensor]],
    score: float,
) -> float:
    """Mean over all ground-truth instances of the IoU of its best same-class prediction.

    Predictions scoring ``score`` or less are left out; a ground truth with no same-class
    prediction counts 0 (see ``best_ious``). 0.0 when there is no ground truth.
    """
    values = best_ious(instances, predictions, truths, score)
    return float(values.mean()) if len(values) else 0.0


def found_by_detector(
    metrics: ModuleType,
    detections: list[dict[str, Tensor]],
    truths: list[dict[str, Tensor]],
    score: float,
) -> tuple[Tensor, Tensor]:
    """Per ground-truth instance: whether a same-class detection scoring above ``score`` has box
    IoU >= 0.5 with it, and the best such box IoU (lesson 3's ``box_iou``; 0 if none).

    Returns:
        ``(found bool [G_total], box_iou float [G_total])``, image by image as ``best_ious``.
    """
    import torch

    found, values = [torch.zeros(0, dtype=torch.bool)], [torch.zeros(0)]
    for detection, truth in zip(detections, truths, strict=True):
        kept = detection["scores"] > score
        boxes, labels = detection["boxes"][kept], detection["labels"][kept]
        if len(labels) == 0 or len(truth["labels"]) == 0:
            best = torch.zeros(len(truth["labels"]))
        else:
            ious = metrics.box_iou(truth["boxes"].float(), boxes.float())  # [G, D]
            same = truth["labels"][:, None] == labels[None, :]
            best = torch.where(same, ious, torch.zeros_like(ious)).max(dim=1).values.float()
        found.append(best >= 0.5)
        values.append(best)
    return torch.cat(found), torch.cat(values)


def sam_label(path: str | Path) -> str:
    """How a SAM is named in the table: the bundled one, or its folder."""
    from bam.configs import PRETRAINED_TINY_SAM

    folder = Path(path)
    if folder.resolve() == PRETRAINED_TINY_SAM.resolve():
        return "tiny SAM, pretrained"
    name = folder.parent.name if folder.name == "model" else folder.name
    return f"tiny SAM, fine-tuned ({name})"


def sam_folder(path: str | Path) -> Path:
    """A ``save_pretrained`` folder: ``path``, or the ``model/`` of a ``bam train sam`` run."""
    folder = Path(path)
    return folder / "model" if (folder / "model" / "config.json").is_file() else folder


def _timed(function: Any, *arguments: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - started


def _score_row(
    instances: ModuleType,
    classes: Sequence[str],
    truths: list[dict[str, Tensor]],
    truth_found: Tensor,
    score: float,
    count: int,
    method: str,
    sam: str | None,
    predictions: list[dict[str, Tensor]],
    seconds: float,
) -> dict[str, Any]:
    """One row of the table: mask AP, matched IoU (all and found instances), speed.

    Returns:
        ``{"row", "method", "sam", "mask_ap", "ap", "mean_iou", "mean_iou_found",
        "images_per_second", "seconds", "iou_per_instance"}``: ``mean_iou_found`` is the
        matched IoU over the ground truths the detector found (``truth_found``: a same-class
        box scoring above ``score`` at box IoU >= 0.5, ``found_by_detector``), the same
        instances for every row, so the rows' gap splits into missed objects and imprecise
        boxes.
    """
    result = instances.mask_average_precision(predictions, truths, 0.5, num_classes=len(classes))
    per_instance = best_ious(instances, predictions, truths, score)  # [G_total]
    return {
        "row": method,
        "method": ROWS[method],
        "sam": sam,
        "mask_ap": float(result["map"]),
        "ap": {classes[int(k) - 1]: float(v) for k, v in result["ap"].items()},
        "mean_iou": matched_iou(instances, predictions, truths, score),
        "mean_iou_found": float(per_instance[truth_found].mean()) if truth_found.any() else 0.0,
        "images_per_second": count / seconds if seconds > 0 else float("inf"),
        "seconds": seconds,
        "iou_per_instance": [round(value, 4) for value in per_instance.tolist()],
    }


def _filled_row(
    instances: ModuleType,
    images: list[Tensor],
    detections: list[dict[str, Tensor]],
    detector_seconds: float,
    score_row: Callable[[str, str | None, list, float], dict[str, Any]],
) -> dict[str, Any]:
    """Row (a): the detector's boxes filled as masks (no SAM)."""
    filled, fill_seconds = [], 0.0
    for image, found in zip(images, detections, strict=True):
        size = tuple(image.shape[-2:])
        masks, seconds = _timed(filled_boxes, instances, found["boxes"], found["scores"], size)
        filled.append({**found, "masks": masks})
        fill_seconds += seconds
    return score_row("a", None, filled, detector_seconds + fill_seconds)


def _sam_rows(
    instances: ModuleType,
    path: str | Path,
    where: torch.device,
    images: list[Tensor],
    detections: list[dict[str, Tensor]],
    truths: list[dict[str, Tensor]],
    detector_seconds: float,
    score_row: Callable[[str, str | None, list, float], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Rows (b) and (c) for one SAM: the detector's boxes, then the true boxes, as prompts."""
    import torch

    from bam.sam_model import load_sam

    sam = load_sam(sam_folder(path), device=where).eval()
    label = sam_label(path)
    piped, truth_piped, pipe_seconds, truth_seconds = [], [], 0.0, 0.0
    for image, found, truth in zip(images, detections, truths, strict=True):
        result, seconds = _timed(instances.segment_instances, sam, image, found, 0.0)
        piped.append({key: value.cpu() for key, value in result.items()})
        pipe_seconds += seconds
        given = {
            "boxes": truth["boxes"],
            "scores": torch.ones(len(truth["boxes"])),
            "labels": truth["labels"],
        }
        result, seconds = _timed(instances.segment_instances, sam, image, given, 0.0)
        truth_piped.append({key: value.cpu() for key, value in result.items()})
        truth_seconds += seconds
    return [
        score_row("b", label, piped, detector_seconds + pipe_seconds),
        score_row("c", label, truth_piped, truth_seconds),
    ]


def _detector_boxes(
    metrics: ModuleType,
    detections: list[dict[str, Tensor]],
    truths: list[dict[str, Tensor]],
    score: float,
    truth_found: Tensor,
    box_ious: Tensor,
) -> dict[str, Any]:
    """How many ground truths the detector's boxes found, and how well its boxes fit them."""
    return {
        "found": int(truth_found.sum()),
        "found_any_score": int(found_by_detector(metrics, detections, truths, 0.0)[0].sum()),
        "recall": float(truth_found.float().mean()) if len(truth_found) else 0.0,
        "mean_box_iou": float(box_ious.mean()) if len(box_ious) else 0.0,
        "mean_box_iou_found": float(box_ious[truth_found].mean()) if truth_found.any() else 0.0,
    }


def _per_instance(
    ids: Sequence[str],
    truths: list[dict[str, Tensor]],
    truth_found: Tensor,
    box_ious: Tensor,
    any_class_ious: Tensor,
) -> dict[str, list]:
    """Every ground truth, image by image (in the order of the rows' ``iou_per_instance``)."""
    return {
        "image": [ids[i] for i, truth in enumerate(truths) for _ in truth["labels"]],
        "label": [int(v) for truth in truths for v in truth["labels"].tolist()],
        "area": [int(v) for truth in truths for v in truth["masks"].sum(dim=(1, 2)).tolist()],
        "box_area": [
            int(v)
            for truth in truths
            for v in ((truth["boxes"][:, 2:] - truth["boxes"][:, :2]).prod(dim=1)).tolist()
        ],
        "found": truth_found.tolist(),
        "box_iou": [round(value, 4) for value in box_ious.tolist()],
        "box_iou_any_class": [round(value, 4) for value in any_class_ious.tolist()],
    }


def _detect_all(
    folder: Any, count: int, model: nn.Module, config: Any
) -> tuple[list[Tensor], list[dict[str, Tensor]], list[dict[str, Tensor]], float]:
    """The first ``count`` images of ``folder``, their ground truths, the detector's output on
    each, and the detector's total time."""
    images, truths, detections, detector_seconds = [], [], [], 0.0
    for index in range(count):
        image, target = folder[index]
        found, seconds = _timed(detect, model, config.image_size, image)
        detector_seconds += seconds
        images.append(image)
        truths.append({key: target[key] for key in ("boxes", "labels", "masks", "difficult")})
        detections.append(found)
    return images, truths, detections, detector_seconds


def _any_class_box_ious(
    metrics: ModuleType,
    detections: list[dict[str, Tensor]],
    truths: list[dict[str, Tensor]],
    score: float,
) -> Tensor:
    """Per ground truth, the best box IoU of a detection scoring above ``score``, whatever its
    class (a ground truth found under the wrong name still has a box over it)."""
    import torch

    any_class = [  # every detection relabelled as the ground truth's class
        {**found, "labels": torch.full_like(found["labels"], int(label))}
        for found, truth in zip(detections, truths, strict=True)
        for label in truth["labels"].tolist()
    ]
    single = [  # one ground truth at a time, so each meets every detection as its own class
        {key: truth[key][number : number + 1] for key in ("boxes", "labels")}
        for truth in truths
        for number in range(len(truth["labels"]))
    ]
    return found_by_detector(metrics, any_class, single, score)[1]


def compare_instances(
    detector: str | Path | None,
    sams: list[str | Path],
    data: str | Path,
    split: str = "test",
    impl: str = "solutions",
    device: str = "cpu",
    score: float = 0.5,
    limit: int | None = None,
) -> dict[str, Any]:
    """Scores rows (a), (b) and (c) (see the module) on a split; returns everything measured.

    Args:
        detector: a detector run folder (or its ``checkpoint.pt``; ``None``: the newest run).
        sams: SAM folders (``save_pretrained``, or ``bam train sam`` run folders).
        data: a VOC folder with instance masks.
        split: the split scored.
        impl: whose exercises run (``lessons`` or ``solutions``).
        device: ``auto``, ``cpu`` or ``cuda``.
        score: predictions scoring above it count for the matched IoU.
        limit: only the first ``limit`` images of the split.

    Returns:
        ``{"rows": [one ``_score_row`` per row], "box_map": the detector's box mAP@0.5 on the
        same images, "detector_boxes": ``_detector_boxes``, "per_instance": ``_per_instance``,
        "images", "instances", "settings"}``.

    Raises:
        UnfinishedExercises, ImplementationUnavailable, FileNotFoundError, DatasetError.
    """
    import torch

    from bam.data.datasets import DetectionFolder
    from bam.implementations import lesson_module
    from bam.train import pick_device

    modules = load_instances(impl, "bam compare instances")
    instances = modules["instances"]
    where = pick_device(device)
    detector = detector_run_dir(detector)
    model, config = load_detector(detector, impl, where)
    folder = DetectionFolder(data, split, classes=config.classes, masks=True, impl=impl)
    count = len(folder) if limit is None else min(limit, len(folder))
    images, truths, detections, detector_seconds = _detect_all(folder, count, model, config)
    num_classes = len(config.classes)
    metrics = lesson_module("metrics", impl)
    truth_found, box_ious = found_by_detector(metrics, detections, truths, score)
    any_class_ious = _any_class_box_ious(metrics, detections, truths, score)

    def score_row(method: str, sam: str | None, predictions: list, seconds: float) -> dict:
        return _score_row(
            instances, config.classes, truths, truth_found, score, count, method, sam,
            predictions, seconds,
        )  # fmt: skip

    rows = [_filled_row(instances, images, detections, detector_seconds, score_row)]
    for path in sams:
        rows += _sam_rows(
            instances, path, where, images, detections, truths, detector_seconds, score_row
        )
    box_map = metrics.mean_average_precision(detections, truths, 0.5, num_classes=num_classes)
    return {
        "rows": rows,
        "box_map": float(box_map["map"]),
        "detector_boxes": _detector_boxes(
            metrics, detections, truths, score, truth_found, box_ious
        ),
        "images": count,
        "instances": int(sum(len(truth["labels"]) for truth in truths)),
        "per_instance": _per_instance(folder.ids, truths, truth_found, box_ious, any_class_ious),
        "settings": {
            "detector": str(detector),
            "detector_model": config.model,
            "detector_image_size": list(config.image_size),
            "sams": [str(path) for path in sams],
            **{"data": str(data), "split": split, "impl": impl, "device": str(where)},
            **{"score": score, "limit": limit, "threads": torch.get_num_threads()},
        },
    }


def markdown_table(result: dict[str, Any]) -> str:
    """The rows as a markdown table (mask AP@0.5, mean matched IoU, images/s)."""
    lines = [
        "| method | SAM | mask AP@0.5 | mean matched mask IoU | images/s |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['method']} | {row['sam'] or '—'} | {row['mask_ap']:.3f} |"
            f" {row['mean_iou']:.3f} | {row['images_per_second']:.1f} |"
        )
    return "\n".join(lines)


def voc_truth(image_path: Path, classes: Sequence[str]) -> dict[str, Tensor] | None:
    """The ground truth of an image in a VOC folder with instance masks, or ``None``.

    ``.../JPEGImages/<id>.<ext>`` with ``.../Annotations/<id>.xml`` and
    ``.../SegmentationObject/<id>.png`` beside it: ``{"boxes", "labels", "masks"}``.
    """
    import torch

    from bam.data.datasets import instance_masks, read_palette_png, read_voc_annotation

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
