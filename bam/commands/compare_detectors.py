"""``bam compare detectors``: two-stage against one-stage on the same data, backbone and budget.

Trains, for each seed, the course's Faster R-CNN (lesson 9), the course's YOLO (lesson 10) and
torchvision's Faster R-CNN (with the course's backbone, as ``bam compare detector``) with the one
training loop — same split, image size, epochs, optimiser, schedule, pretrained backbone and
flips — then times inference of the three final models side by side: images per second on the
test images at batch 1 and batch 8, the three models interleaved, the median of the repeats.
Reports mAP@0.5 of the *last* epoch on the test split (no best-epoch picking), training time and
inference speed, as mean and standard deviation over the seeds; writes ``summary.json`` and
``summary.md`` into the output folder. A run folder that already holds all its epochs is reused,
so an interrupted comparison continues where it stopped. A benchmark, not a test.

Layout::

    OUT/seed-0/{faster_rcnn,yolo,torchvision}/   run folders (bam eval detector reads them)
    OUT/summary.json, OUT/summary.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

DESCRIPTION = (
    "Faster R-CNN (ours, torchvision's) against lesson 10's YOLO: mAP, training time, speed"
)
MODELS = ("faster_rcnn", "yolo", "torchvision")
LABELS = {
    "faster_rcnn": "Faster R-CNN (course)",
    "yolo": "YOLO (course, lesson 10)",
    "torchvision": "Faster R-CNN (torchvision)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.detector_options import DETECTOR_OPTIONS, add_detector_arguments

    add_detector_arguments(parser, DETECTOR_OPTIONS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default: 0 1 2")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed passes per model and batch size (median)"
    )
    parser.add_argument(
        "--speed-images", type=int, default=16, help="test images timed per pass (default 16)"
    )


def _train_or_reuse(config: Any, run_dir: Path, model: str, log: Any, progress: bool) -> None:
    from bam.pipelines.detector import train
    from bam.pipelines.torchvision_twin import torchvision_twin

    done = run_dir / "metrics.json"
    if done.is_file() and len(json.loads(done.read_text())) >= config.epochs:
        log(f"reusing {run_dir}")
        return
    resume = (run_dir / "checkpoint.pt").is_file()
    factory = torchvision_twin if model == "torchvision" else None
    train(config, run_dir, resume=resume, model_factory=factory, log=log, show_progress=progress)


def _load(run_dir: Path, model: str) -> Any:
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


def run(args: argparse.Namespace) -> int:
    import platform

    import torch

    from bam.configs import RUNS_ROOT
    from bam.course import UnfinishedExercises
    from bam.data.datasets import DatasetError
    from bam.detector_options import detector_config
    from bam.pipelines.detector import load_split

    if args.threads:
        torch.set_num_threads(args.threads)
    out = (
        Path(args.out) if args.out else RUNS_ROOT / time.strftime("compare-detectors-%Y%m%d-%H%M%S")
    )
    rows: list[dict[str, Any]] = []
    try:
        for seed in args.seeds:
            models = {}
            for model in MODELS:
                config = detector_config(args, "faster_rcnn" if model == "torchvision" else model)
                config.seed = seed
                run_dir = out / f"seed-{seed}" / model
                log = lambda line, tag=f"[seed {seed} {model}]": print(f"{tag} {line}", flush=True)  # noqa: E731
                _train_or_reuse(config, run_dir, model, log, not args.no_progress)
                models[model] = _load(run_dir, model)
            test = load_split(config, config.test_split, args.speed_images)
            images = [test[index][0] for index in range(len(test))]
            speed = {size: images_per_second(models, images, size, args.repeats) for size in (1, 8)}
            full_test = load_split(config, config.test_split, config.max_test_images)
            kinds = {model: recall_by_kind(models[model], full_test) for model in MODELS}
            for model in MODELS:
                history = json.loads((out / f"seed-{seed}" / model / "metrics.json").read_text())
                rows.append({
                    "seed": seed, "model": model, "map": history[-1]["map"],
                    "epochs": len(history),
                    "training_seconds": sum(record["seconds"] for record in history),
                    "ips_batch_1": speed[1][model], "ips_batch_8": speed[8][model],
                    "recall": kinds[model],
                })  # fmt: skip
    except (UnfinishedExercises, DatasetError, FileNotFoundError, ValueError) as error:
        print(f"bam compare detectors: {error}")
        return 1
    summary = summarise(rows)
    header = (
        f"{config.epochs} epochs, seeds {' '.join(map(str, args.seeds))}, {config.image_size[0]}x"
        f"{config.image_size[1]} images, VGG16 width {config.width}, {torch.get_num_threads()}"
        f" thread(s), {platform.processor() or platform.machine()}, impl {config.impl}"
    )
    table = markdown(summary, header)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(
        json.dumps({"header": header, "rows": rows, "summary": summary}, indent=2) + "\n"
    )
    (out / "summary.md").write_text(table)
    print("\n" + table + f"runs: {out}")
    return 0
