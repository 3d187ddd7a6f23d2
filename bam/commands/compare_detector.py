"""``bam compare detector``: the course's Faster R-CNN side by side with torchvision's.

Both are trained by the same loop (:func:`bam.pipelines.detector.train`) on the same data, image
size, epochs, optimiser, schedule and seed, with the same backbone (the course's VGG16 at the
same width, loaded with the same pretrained weights: ``--backbone-weights``), anchors, RoI pooling
size, head widths and sampling settings. torchvision's model
runs its C++ RoI pooling and NMS; ours runs the exercises. The table prints mAP@0.5 on the test
split and the training time of each (a benchmark, not a test: run it on an otherwise idle
machine, and compare the ratio rather than the seconds).
"""

from __future__ import annotations

import argparse

DESCRIPTION = "train our Faster R-CNN and torchvision's side by side; print mAP@0.5 and times"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.detector_options import DETECTOR_OPTIONS, add_detector_arguments

    add_detector_arguments(parser, DETECTOR_OPTIONS)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import torch

    from bam.configs import RUNS_ROOT
    from bam.course import UnfinishedExercises
    from bam.data.datasets import DatasetError
    from bam.detector_options import detector_config
    from bam.pipelines.detector import train
    from bam.pipelines.torchvision_twin import torchvision_twin

    if args.threads:
        torch.set_num_threads(args.threads)
    base = (
        Path(args.out) if args.out else RUNS_ROOT / time.strftime("compare-detector-%Y%m%d-%H%M%S")
    )
    rows = []
    for name, factory in (("ours", None), ("torchvision", torchvision_twin)):
        config = detector_config(args)
        started = time.perf_counter()
        try:
            record = train(
                config,
                run_dir=base / name,
                model_factory=factory,
                log=lambda line, name=name: print(f"[{name}] {line}", flush=True),
                show_progress=not args.no_progress,
            )
        except (UnfinishedExercises, DatasetError, FileNotFoundError, ValueError) as error:
            print(f"bam compare detector: {error}")
            return 1
        history = _history(base / name)
        rows.append(
            (
                f"{name} ({config.impl})" if name == "ours" else "torchvision FasterRCNN",
                record["map"],
                sum(entry["seconds"] for entry in history),
                time.perf_counter() - started,
            )
        )
    print(f"\n{config.epochs} epochs, {config.image_size[0]}x{config.image_size[1]} images, VGG16 width {config.width},"
          f" {torch.get_num_threads()} threads, device {config.device}")  # fmt: skip
    print(f"{'model':<28} {'mAP@0.5':>8} {'training (s)':>13} {'with eval (s)':>14}")
    for label, score, seconds, wall in rows:
        print(f"{label:<28} {score:>8.3f} {seconds:>13.0f} {wall:>14.0f}")
    (_, ours_map, ours_seconds, _), (_, their_map, their_seconds, _) = rows
    print(
        f"{'ours / torchvision':<28} {ours_map - their_map:>+8.3f} {ours_seconds / their_seconds:>12.2f}x"
    )
    print(f"runs: {base}")
    return 0


def _history(run_dir):
    import json

    return [
        json.loads(path.read_text()) for path in sorted((run_dir / "metrics").glob("epoch_*.json"))
    ]
