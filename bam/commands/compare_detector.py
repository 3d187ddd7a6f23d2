"""``bam compare detector``: the course's Faster R-CNN side by side with torchvision's.

Both are trained by the same loop (:func:`bam.train_detector.train`) on the same data, image
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
    from bam.commands.train_detector import add_arguments as add_train_arguments

    add_train_arguments(parser)


def torchvision_twin(config, num_classes: int):
    """torchvision's ``FasterRCNN`` with the course's backbone and the run's settings."""
    from torch import nn
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import roi_align, roi_pool

    from bam.detection import IMAGENET_MEAN, IMAGENET_STD, init_from_scratch
    from bam.implementations import lesson_module

    backbone = lesson_module("vgg", config.impl).vgg16_backbone(config.width)
    channels = [layer for layer in backbone.modules() if isinstance(layer, nn.Conv2d)][
        -1
    ].out_channels
    backbone.out_channels = channels
    init_from_scratch(backbone)

    class SingleMapPool(nn.Module):
        """RoI pooling of torchvision's one feature map ``"0"`` at stride 16."""

        def forward(self, features, proposals, image_shapes):
            if config.pool == "roi_align":
                return roi_align(features["0"], proposals, (7, 7), 1 / 16, 2, True)
            return roi_pool(features["0"], proposals, (7, 7), 1 / 16)

    height, width = config.image_size
    model = FasterRCNN(
        backbone,
        num_classes=None,
        min_size=min(height, width),
        max_size=max(height, width),
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
        rpn_anchor_generator=AnchorGenerator(
            (tuple(config.anchor_sizes),), (tuple(config.anchor_ratios),)
        ),
        rpn_pre_nms_top_n_train=6000,
        rpn_pre_nms_top_n_test=6000,
        rpn_post_nms_top_n_train=300,
        rpn_post_nms_top_n_test=300,
        rpn_batch_size_per_image=config.rpn_batch_size,
        box_head=TwoMLPHead(channels * 7 * 7, config.hidden),
        box_predictor=FastRCNNPredictor(config.hidden, num_classes),
        box_batch_size_per_image=config.roi_batch_size,
    )
    model.transform.size_divisible = (
        1  # no padding to multiples of 32: the same feature map as ours
    )
    # torchvision's constructor accepts only MultiScaleRoIAlign (or None: its default RoIAlign);
    # set the pooling afterwards so that --pool applies to both models alike
    model.roi_heads.box_roi_pool = SingleMapPool()
    return model


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import torch

    from bam.commands.train_detector import config_from_args
    from bam.configs import RUNS_ROOT
    from bam.course import UnfinishedExercises
    from bam.datasets import DatasetError
    from bam.train_detector import train

    if args.threads:
        torch.set_num_threads(args.threads)
    base = (
        Path(args.out) if args.out else RUNS_ROOT / time.strftime("compare-detector-%Y%m%d-%H%M%S")
    )
    rows = []
    for name, factory in (("ours", None), ("torchvision", torchvision_twin)):
        config = config_from_args(args)
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
