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
import time
from pathlib import Path
from typing import Any

DESCRIPTION = (
    "Faster R-CNN (ours, torchvision's) against lesson 10's YOLO: mAP, training time, speed"
)


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


def run(args: argparse.Namespace) -> int:
    import platform

    import torch

    from bam.configs import RUNS_ROOT
    from bam.course import UnfinishedExercises
    from bam.data.datasets import DatasetError
    from bam.detector_options import detector_config
    from bam.pipelines.detector import load_split
    from bam.pipelines.detector_comparison import (
        MODELS,
        images_per_second,
        load_model,
        markdown,
        recall_by_kind,
        summarise,
        train_or_reuse,
    )

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
                config = detector_config(
                    args, "faster_rcnn" if model == "torchvision" else model, recipe="faster_rcnn"
                )
                config.seed = seed
                run_dir = out / f"seed-{seed}" / model
                log = lambda line, tag=f"[seed {seed} {model}]": print(f"{tag} {line}", flush=True)  # noqa: E731
                train_or_reuse(config, run_dir, model, log, not args.no_progress)
                models[model] = load_model(run_dir, model)
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
