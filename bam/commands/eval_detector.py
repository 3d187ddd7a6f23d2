"""``bam eval detector RUN_DIR``: mAP@0.5 and AP per class of a trained detector on a split."""

from __future__ import annotations

import argparse

DESCRIPTION = "evaluate a trained detector run (mAP@0.5 and AP per class)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run folder of bam train detector")
    parser.add_argument(
        "--split", default=None, help="split to score (default: the run's test split)"
    )
    parser.add_argument(
        "--impl", choices=("lessons", "solutions"), default=None, help="default: the run's"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--iou", type=float, default=0.5, help="IoU threshold of a match (default 0.5)"
    )
    parser.add_argument(
        "--max-images", type=int, default=None, help="score only the split's first N images"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from bam.data.datasets import DatasetError
    from bam.implementations import lesson_module
    from bam.pipelines.detector import load_split, load_trained, pick_device, predict

    try:
        model, config = load_trained(args.run_dir, args.impl, args.device)
        split = args.split or config.test_split
        dataset = load_split(config, split, args.max_images)
    except (FileNotFoundError, DatasetError, ValueError, RuntimeError) as error:
        print(f"bam eval detector: {error}")
        return 1
    collate = lesson_module("dataset", config.impl).collate_detection
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, collate_fn=collate)
    detections, truths, _ = predict(model, loader, pick_device(args.device))
    metrics = lesson_module("metrics", config.impl)
    result = metrics.mean_average_precision(
        detections, truths, args.iou, num_classes=len(config.classes)
    )
    print(f"{args.run_dir}: {len(dataset)} images of split {split!r}")
    print(f"  {'class':<12} AP@{args.iou:g}")
    for label, ap in sorted(result["ap"].items()):
        print(f"  {config.classes[int(label) - 1]:<12} {float(ap):.3f}")
    print(f"  {'mAP':<12} {float(result['map']):.3f}")
    return 0
