"""Our Faster R-CNN, lesson 10's YOLO and torchvision's Faster R-CNN compared over seeds (``bam compare detectors``).

Trains (or reuses) one run per model and seed with the same settings, then measures each: mAP@0.5
on the test split, recall by shape kind, and images per second; ``summarise`` and ``markdown``
turn the rows into the table of ``docs/results``.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

MODELS = ("faster_rcnn", "yolo", "torchvision")


LABELS = {
    "faster_rcnn": "Faster R-CNN (course)",
    "yolo": "YOLO (course, lesson 10)",
    "torchvision": "Faster R-CNN (torchvision)",
}


def train_or_reuse(config: Any, run_dir: Path, model: str, log: Any, progress: bool) -> None:
    from bam.pipelines.detector import train
    from bam.pipelines.torchvision_twin import torchvision_twin

    done = run_dir / "metrics.json"
    if done.is_file() and len(json.loads(done.read_text())) >= config.epochs:
        log(f"reusing {run_dir}")
        return
    resume = (run_dir / "checkpoint.pt").is_file()
    factory = torchvision_twin if model == "torchvision" else None
    train(config, run_dir, resume=resume, model_factory=factory, log=log, show_progress=progress)


def load_model(run_dir: Path, model: str) -> Any:
    """The trained model of a run folder, in eval mode on the CPU."""
    from bam.pipelines.detector import CHECKPOINT, load_checkpoint, load_trained, read_config
    from bam.pipelines.torchvision_twin import torchvision_twin

    if model != "torchvision":
        return load_trained(run_dir, device="cpu")[0]
    config = read_config(run_dir)
    network = torchvision_twin(config, len(config.classes) + 1)
    network.load_state_dict(load_checkpoint(run_dir / CHECKPOINT)["model"])
    return network.eval()


def images_per_second(
    models: dict[str, Any], images: list[Any], batch_size: int, repeats: int
) -> dict[str, float]:
    """Median images per second of each model on ``images`` in batches, the models interleaved."""
    import torch

    times: dict[str, list[float]] = {name: [] for name in models}
    batches = [images[start : start + batch_size] for start in range(0, len(images), batch_size)]
    with torch.no_grad():
        for model in models.values():  # one warm-up pass each
            model(batches[0])
        for _ in range(repeats):
            for name, model in models.items():
                started = time.perf_counter()
                for batch in batches:
                    model(batch)
                times[name].append(time.perf_counter() - started)
    return {name: len(images) / statistics.median(values) for name, values in times.items()}


def recall_by_kind(model: Any, test_set: Any, batch_size: int = 8) -> dict[str, float]:
    """Recall at IoU 0.5 of detections scoring 0.5 or more, for kinds of ground-truth object.

    ``small``: the box's square root of area below 24 px (the shapes set at 120x160 has 12-48
    px objects); ``large`` the others; ``touching``: the box meets another object's box of the
    same image; ``apart`` the others. Where a one-stage detector loses is visible here: one
    object per cell and anchor, and the coarse 16-px grid.
    """
    import torch
    from torchvision.ops import box_iou

    from bam.implementations import lesson_module
    from bam.pipelines.detector import predict

    collate = lesson_module("dataset", "solutions").collate_detection
    loader = torch.utils.data.DataLoader(test_set, batch_size=batch_size, collate_fn=collate)
    detections, truths, _ = predict(model, loader, torch.device("cpu"))
    found: dict[str, list[bool]] = {"small": [], "large": [], "touching": [], "apart": []}
    for detection, truth in zip(detections, truths, strict=True):
        boxes, labels = truth["boxes"], truth["labels"]
        confident = detection["scores"] >= 0.5
        hit = torch.zeros(len(boxes), dtype=torch.bool)
        if confident.any() and len(boxes):
            overlap = box_iou(boxes, detection["boxes"][confident])  # [G, D]
            same = labels[:, None] == detection["labels"][confident][None, :]
            hit = ((overlap >= 0.5) & same).any(dim=1)
        meets = box_iou(boxes, boxes) > 0 if len(boxes) else torch.zeros(0, 0, dtype=torch.bool)
        touching = (meets.sum(dim=1) > 1).tolist()  # itself, and at least one other
        sides = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt().tolist()
        for index, was_found in enumerate(hit.tolist()):
            found["small" if sides[index] < 24 else "large"].append(was_found)
            found["touching" if touching[index] else "apart"].append(was_found)
    return {
        kind: sum(values) / len(values) if values else float("nan")
        for kind, values in found.items()
    } | {f"{kind}_count": len(values) for kind, values in found.items()}


def _spread(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per model, each measured quantity over the seeds (mean and spread come from these)."""
    summary: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        entry = summary.setdefault(row["model"], {})
        for key in ("map", "training_seconds", "ips_batch_1", "ips_batch_8"):
            entry.setdefault(key, []).append(row[key])
        for kind in ("small", "large", "touching", "apart"):
            if kind in row.get("recall", {}):
                entry.setdefault(f"recall_{kind}", []).append(row["recall"][kind])
    return summary


def markdown(summary: dict[str, dict[str, list[float]]], header: str) -> str:
    lines = [
        header,
        "",
        "| model | mAP@0.5 (last epoch) | training (s) | images/s, batch 1 | images/s, batch 8 |",
        "|---|---|---|---|---|",
    ]
    for model in MODELS:
        if model not in summary:
            continue
        cells = []
        for key, digits in (
            ("map", 3),
            ("training_seconds", 0),
            ("ips_batch_1", 1),
            ("ips_batch_8", 1),
        ):
            mean, spread = _spread(summary[model][key])
            cells.append(f"{mean:.{digits}f} ± {spread:.{digits}f}")
        lines.append(f"| {LABELS[model]} | " + " | ".join(cells) + " |")
    kinds = ("small", "large", "touching", "apart")
    if all(f"recall_{kinds[0]}" in summary[model] for model in summary):
        lines += [
            "",
            "Recall at IoU 0.5 of detections scoring 0.5 or more, by kind of object (test split):",
            "",
            "| model | small (< 24 px) | large | touching another | apart |",
            "|---|---|---|---|---|",
        ]
        for model in MODELS:
            if model in summary:
                cells = [
                    "{:.2f} ± {:.2f}".format(*_spread(summary[model][f"recall_{kind}"]))
                    for kind in kinds
                ]
                lines.append(f"| {LABELS[model]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
