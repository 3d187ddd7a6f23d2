"""``bam train detector``: train the course's Faster R-CNN on the bundled shapes set (or a VOC folder).

Writes a run folder (config, checkpoint, metrics per epoch, loss curves, detections); see
:mod:`bam.train_detector`. Runs unchanged under ``torchrun --nproc_per_node=N``.
"""

from __future__ import annotations

import argparse

DESCRIPTION = "train the course's Faster R-CNN (your lessons by default) and save a run folder"


# TrainConfig's fields that are options of their own (bam.commands.options makes them)
CONFIG_OPTIONS = (
    "device",
    "data",
    "batch_size",
    "lr",
    "optimizer",
    "width",
    "hidden",
    "backbone_weights",
    "image_size",
    "anchor_sizes",
    "pool",
    "seed",
    "max_train_images",
    "max_test_images",
)


def add_arguments(
    parser: argparse.ArgumentParser, config_options: tuple[str, ...] = CONFIG_OPTIONS
) -> None:
    """The options of ``bam train detector`` (``config_options``: the TrainConfig fields that
    are options; ``bam train yolo`` leaves out Faster R-CNN's own)."""
    from bam.commands.options import Option, options_from_dataclass
    from bam.configs import TrainConfig
    from bam.implementations import add_impl_argument

    defaults = TrainConfig()
    add_impl_argument(parser)
    epochs = Option(
        default=None, help=f"epochs (default {defaults.epochs}; when resuming, the run's)"
    )
    options_from_dataclass(parser, TrainConfig, {"epochs": epochs})
    parser.add_argument(
        "--out", default=None, help="run folder (default: a new folder under runs/)"
    )
    parser.add_argument(
        "--resume", metavar="RUN_DIR", default=None, help="continue an interrupted run"
    )
    options_from_dataclass(
        parser,
        TrainConfig,
        {
            **dict.fromkeys(config_options),
            "backbone_weights": Option(metavar="PATH|none"),
            "image_size": Option(metavar=("H", "W")),
        },
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (one line per epoch)"
    )


def config_from_args(
    args: argparse.Namespace,
    model: str = "faster_rcnn",
    config_options: tuple[str, ...] = CONFIG_OPTIONS,
):
    from bam.commands.options import config_values
    from bam.configs import TrainConfig

    epochs = (
        args.epochs if args.epochs is not None else (0 if args.resume else TrainConfig().epochs)
    )
    return TrainConfig(
        model=model,
        epochs=epochs,
        impl=args.impl,
        **config_values(args, TrainConfig, config_options),
    )


def run(
    args: argparse.Namespace,
    model: str = "faster_rcnn",
    command: str = "bam train detector",
    config_options: tuple[str, ...] = CONFIG_OPTIONS,
) -> int:
    import os

    import torch

    from bam.course import UnfinishedExercises
    from bam.datasets import DatasetError
    from bam.implementations import ImplementationUnavailable
    from bam.train_detector import train

    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1:
        print(f"{command}: --epochs and --batch-size must be positive")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    main = os.environ.get("RANK", "0") == "0"
    run_dir = args.resume or args.out
    try:
        record = train(
            config_from_args(args, model, config_options),
            run_dir=run_dir,
            resume=args.resume is not None,
            log=lambda line: print(line, flush=True) if main else None,
            show_progress=not args.no_progress,
        )
    except (
        UnfinishedExercises,
        ImplementationUnavailable,
        DatasetError,
        FileNotFoundError,
        ValueError,
    ) as error:
        print(f"{command}: {error}")
        return 1
    except KeyboardInterrupt:
        if main:
            print(f"\ninterrupted; continue with: {command} --resume {run_dir or 'RUN_DIR'}")
        return 130
    if main:
        print(f"run folder: {record['run_dir']}  (bam eval detector {record['run_dir']})")
    return 0
