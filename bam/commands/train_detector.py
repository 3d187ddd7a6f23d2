"""``bam train detector``: train the course's Faster R-CNN on the bundled shapes set (or a VOC folder).

Writes a run folder (config, checkpoint, metrics per epoch, loss curves, detections); see
:mod:`bam.train_detector`. Runs unchanged under ``torchrun --nproc_per_node=N``.
"""

from __future__ import annotations

import argparse

DESCRIPTION = "train the course's Faster R-CNN (your lessons by default) and save a run folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.implementations import add_impl_argument
    from bam.train_detector import TrainConfig

    defaults = TrainConfig()
    add_impl_argument(parser)
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"epochs (default {defaults.epochs}; when resuming, the run's)",
    )
    parser.add_argument(
        "--out", default=None, help="run folder (default: a new folder under runs/)"
    )
    parser.add_argument(
        "--resume", metavar="RUN_DIR", default=None, help="continue an interrupted run"
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: auto"
    )
    parser.add_argument(
        "--data", default=defaults.data, help="a Pascal VOC folder (default: data/shapes)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="images per step and process"
    )
    parser.add_argument(
        "--lr", type=float, default=defaults.lr, help=f"learning rate (default {defaults.lr})"
    )
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default=defaults.optimizer)
    parser.add_argument(
        "--width", type=float, default=defaults.width, help="VGG16 channel multiplier"
    )
    parser.add_argument(
        "--hidden", type=int, default=defaults.hidden, help="width of the head's FC layers"
    )
    parser.add_argument(
        "--backbone-weights",
        metavar="PATH|none",
        default=defaults.backbone_weights,
        help="pretrained VGG16 backbone folder (bam pretrain backbone), or none to train from"
        " scratch (default: data/vgg-tiny-pretrained when it matches --width, else none)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        default=defaults.image_size,
        help="resize images to H W",
    )
    parser.add_argument("--anchor-sizes", type=float, nargs="+", default=defaults.anchor_sizes)
    parser.add_argument("--pool", choices=("roi_pool", "roi_align"), default=defaults.pool)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--max-train-images", type=int, default=None, help="train on the first N images only"
    )
    parser.add_argument(
        "--max-test-images", type=int, default=None, help="evaluate on the first N images only"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (one line per epoch)"
    )


def config_from_args(args: argparse.Namespace, model: str = "faster_rcnn"):
    from bam.train_detector import TrainConfig

    return TrainConfig(
        model=model,
        data=args.data,
        image_size=tuple(args.image_size),
        epochs=args.epochs
        if args.epochs is not None
        else (0 if args.resume else TrainConfig().epochs),
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        seed=args.seed,
        impl=args.impl,
        device=args.device,
        width=args.width,
        hidden=args.hidden,
        backbone_weights=args.backbone_weights,
        anchor_sizes=tuple(args.anchor_sizes),
        pool=args.pool,
        max_train_images=args.max_train_images,
        max_test_images=args.max_test_images,
    )


def run(
    args: argparse.Namespace, model: str = "faster_rcnn", command: str = "bam train detector"
) -> int:
    import os

    import torch

    from bam.datasets import DatasetError
    from bam.implementations import UnfinishedExercises
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
            config_from_args(args, model),
            run_dir=run_dir,
            resume=args.resume is not None,
            log=lambda line: print(line, flush=True) if main else None,
            show_progress=not args.no_progress,
        )
    except (UnfinishedExercises, DatasetError, FileNotFoundError, ValueError) as error:
        print(f"{command}: {error}")
        return 1
    except KeyboardInterrupt:
        if main:
            print(f"\ninterrupted; continue with: {command} --resume {run_dir or 'RUN_DIR'}")
        return 130
    if main:
        print(f"run folder: {record['run_dir']}  (bam eval detector {record['run_dir']})")
    return 0
