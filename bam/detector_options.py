"""The options of the detector commands and the run they start, shared by ``bam train detector``,
``bam train yolo``, ``bam compare detector`` and ``bam compare detectors``.

``add_detector_arguments(parser, options)`` adds ``TrainConfig``'s fields named in ``options``
(``DETECTOR_OPTIONS``; ``YOLO_OPTIONS`` leaves out Faster R-CNN's own) and the run-folder options;
``detector_config(args)`` reads them back into a ``TrainConfig``; ``train_detector_command(args)``
trains and prints what a command prints. Torch is imported only when a run starts.
"""

from __future__ import annotations

import argparse

# TrainConfig's fields that are options of their own (bam.options makes them)
DETECTOR_OPTIONS = (
    "device",
    "data",
    "batch_size",
    "learning_rate",
    "schedule",
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


# Faster R-CNN's own options, which ``bam train yolo`` does not offer (YOLO's anchors are its own)
FASTER_RCNN_ONLY = ("hidden", "anchor_sizes", "pool")
YOLO_OPTIONS = tuple(name for name in DETECTOR_OPTIONS if name not in FASTER_RCNN_ONLY)


def add_detector_arguments(
    parser: argparse.ArgumentParser,
    config_options: tuple[str, ...] = DETECTOR_OPTIONS,
    model: str = "faster_rcnn",
) -> None:
    """The options of ``bam train detector`` (``config_options``: the TrainConfig fields that
    are options; ``bam train yolo`` leaves out Faster R-CNN's own), with ``model``'s defaults
    (``TrainConfig.defaults_for``: YOLO has its own recipe)."""
    from bam.configs import TrainConfig
    from bam.implementations import add_impl_argument
    from bam.options import Option, options_from_dataclass

    defaults = TrainConfig.defaults_for(model)
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
            **{name: Option(default=getattr(defaults, name)) for name in config_options},
            "learning_rate": Option(flag="--lr", default=defaults.learning_rate),  # every command's
            "backbone_weights": Option(metavar="PATH|none"),
            "image_size": Option(metavar=("H", "W")),
        },
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (one line per epoch)"
    )


def detector_config(
    args: argparse.Namespace,
    model: str = "faster_rcnn",
    config_options: tuple[str, ...] = DETECTOR_OPTIONS,
    recipe: str | None = None,
):
    """The ``TrainConfig`` of a run of ``model`` from the options; ``recipe``: the model whose
    defaults the options were made with (``add_detector_arguments``'s ``model``; default
    ``model``): ``bam compare detectors`` trains all three detectors with Faster R-CNN's."""
    import dataclasses

    from bam.configs import TrainConfig
    from bam.options import config_values

    defaults = TrainConfig.defaults_for(recipe or model)
    epochs = args.epochs if args.epochs is not None else (0 if args.resume else defaults.epochs)
    return dataclasses.replace(
        defaults,
        model=model,
        epochs=epochs,
        impl=args.impl,
        **config_values(args, TrainConfig, config_options),
    )


def train_detector_command(
    args: argparse.Namespace,
    model: str = "faster_rcnn",
    command: str = "bam train detector",
    config_options: tuple[str, ...] = DETECTOR_OPTIONS,
) -> int:
    import os

    import torch

    from bam.course import UnfinishedExercises
    from bam.data.datasets import DatasetError
    from bam.implementations import ImplementationUnavailable
    from bam.pipelines.detector import train

    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1:
        print(f"{command}: --epochs and --batch-size must be positive")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    main = os.environ.get("RANK", "0") == "0"
    run_dir = args.resume or args.out
    try:
        record = train(
            detector_config(args, model, config_options),
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
