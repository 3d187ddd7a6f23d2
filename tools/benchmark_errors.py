"""Where a trained detector's mAP goes: ``tools/benchmark.py errors`` (no training).

For each trained run of ``detector`` and ``yolo`` (the benchmark's own run folders), the test
split is scored again under looser and stricter rules, with lesson 3's reference
``mean_average_precision``: mAP at IoU 0.3, 0.5 and 0.7 (how much of the gap is where the boxes
sit), mAP@0.5 with every class merged into one (how much is naming the shape), and, from the
same detections, recall at IoU 0.5 of the detections scoring 0.5 or more. A gap that shrinks
at IoU 0.3 is localisation; one that shrinks class-agnostic is classification. The data's
objects sharing a YOLO slot (a grid cell and its best anchor) are counted too: YOLO can learn
only one object per slot.

The ablation (``first_stage_only``): a trained Faster R-CNN with its second stage taken away,
its RPN's proposals scored as class-agnostic detections. The RPN is a one-stage detector on the
same stride-16 map, as YOLO is, so what the second stage (RoIAlign and the head's own box
regression) adds to placing boxes is measured, not guessed.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any


def rescored(run_dir: Path) -> dict[str, float]:
    """mAP@0.3/0.5/0.7, class-agnostic mAP@0.5/0.7 and recall@0.5 of a run on its test split."""
    import torch
    from torchvision.ops import box_iou

    from bam.implementations import lesson_module
    from bam.pipelines.detector import load_split, load_trained, predict

    model, config = load_trained(run_dir, impl="solutions")
    collate = lesson_module("dataset", "solutions").collate_detection
    test_set = load_split(config, config.test_split, config.max_test_images)
    loader = torch.utils.data.DataLoader(test_set, batch_size=8, collate_fn=collate)
    detections, truths, _ = predict(model, loader, torch.device("cpu"))
    score = lesson_module("metrics", "solutions").mean_average_precision
    classes = len(config.classes)
    scores = {
        f"map_{round(100 * threshold)}": float(
            score(detections, truths, threshold, num_classes=classes)["map"]
        )
        for threshold in (0.3, 0.5, 0.7)
    }
    merged = [
        [{**item, "labels": torch.ones_like(item["labels"])} for item in items]
        for items in (detections, truths)
    ]
    for threshold in (0.5, 0.7):
        scores[f"class_agnostic_map_{round(100 * threshold)}"] = float(
            score(*merged, threshold, num_classes=1)["map"]
        )
    found = total = 0
    for detection, truth in zip(detections, truths, strict=True):
        confident = detection["boxes"][detection["scores"] >= 0.5]  # [D', 4]
        total += len(truth["boxes"])
        if len(confident) and len(truth["boxes"]):
            found += int((box_iou(truth["boxes"], confident).amax(dim=1) >= 0.5).sum())
    scores["recall_50"] = found / max(1, total)
    return scores


def slot_sharing(config: Any, split: str) -> dict[str, int]:
    """Objects of ``split`` whose YOLO slot (stride-16 cell, best anchor by shape) another takes."""
    import torch

    from bam.pipelines.detector import load_split

    anchors = torch.tensor(config.yolo_anchors, dtype=torch.float32).view(-1, 2)  # [A, 2]
    objects = shared = shared_cell = 0
    for _, target in load_split(config, split, None):
        boxes = target["boxes"]  # [N, 4]
        if not len(boxes):
            continue
        sizes = boxes[:, 2:] - boxes[:, :2]  # [N, 2]
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        overlap = torch.minimum(sizes[:, None], anchors[None]).prod(-1)  # [N, A]
        union = sizes.prod(-1)[:, None] + anchors.prod(-1)[None] - overlap
        best = (overlap / union).argmax(dim=1)  # [N]
        cells = (centres // 16).long()  # [N, 2]
        slots = collections.Counter(
            (int(x), int(y), int(a)) for (x, y), a in zip(cells, best, strict=True)
        )
        in_cell = collections.Counter((int(x), int(y)) for x, y in cells)
        objects += len(boxes)
        shared += sum(count for count in slots.values() if count > 1)
        shared_cell += sum(count for count in in_cell.values() if count > 1)
    return {"objects": objects, "sharing_a_slot": shared, "sharing_a_cell": shared_cell}


def first_stage_only(run_dir: Path) -> dict[str, float]:
    """Class-agnostic mAP@0.5 and @0.7 of a trained Faster R-CNN's proposals alone.

    The RPN's proposals of each test image (objectness as the score), de-duplicated by NMS at
    the detection head's own threshold and cut to its number of detections, are scored with
    every class merged into one: the detector without its second stage.
    """
    import torch
    from torchvision.ops import nms

    from bam.implementations import lesson_module
    from bam.pipelines.detector import load_split, load_trained
    from given.detection import batch_images
    from given.rpn_layout import flatten_rpn_outputs
    from solutions import rpn
    from solutions.detector import STRIDE

    model, config = load_trained(run_dir, impl="solutions")
    if config.model != "faster_rcnn":
        raise ValueError(f"{run_dir} is a {config.model} run; the ablation needs Faster R-CNN")
    collate = lesson_module("dataset", "solutions").collate_detection
    test_set = load_split(config, config.test_split, config.max_test_images)
    loader = torch.utils.data.DataLoader(test_set, batch_size=8, collate_fn=collate)
    settings = model.detection_settings
    detections, truths = [], []
    model.eval()
    with torch.no_grad():
        for images, targets in loader:
            batch, sizes = batch_images(images, model.image_mean, model.image_std)
            features = model.backbone(batch)  # [B, C, H', W']
            anchors = rpn.generate_anchors(
                tuple(features.shape[-2:]), STRIDE, model.anchor_sizes, model.anchor_ratios
            ).to(features)  # [N, 4]
            objectness, deltas = flatten_rpn_outputs(*model.rpn_head(features))  # [B, N], [B, N, 4]
            for scores, box_deltas, size, target in zip(
                objectness, deltas, sizes, targets, strict=True
            ):
                boxes, probabilities = rpn.propose(
                    anchors, scores, box_deltas, size, **model.rpn_settings
                )
                keep = nms(boxes, probabilities, settings["nms_thresh"])[
                    : settings["detections_per_img"]
                ]
                detections.append(
                    {
                        "boxes": boxes[keep],
                        "scores": probabilities[keep],
                        "labels": torch.ones(len(keep), dtype=torch.int64),
                    }
                )
                truths.append({**target, "labels": torch.ones_like(target["labels"])})  # fmt: skip
    score = lesson_module("metrics", "solutions").mean_average_precision
    return {
        f"first_stage_map_{round(100 * threshold)}": float(
            score(detections, truths, threshold, num_classes=1)["map"]
        )
        for threshold in (0.5, 0.7)
    }
