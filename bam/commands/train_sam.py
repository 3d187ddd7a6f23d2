"""``bam train sam``: fine-tune SAM's mask decoder on the water set with box prompts (lesson 4)."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = "fine-tune SAM on data/water with box prompts (curves, predictions, checkpoints)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.implementations import add_impl_argument
    from bam.train_sam import RunConfig

    defaults = RunConfig()
    parser.add_argument(
        "--epochs", type=int, default=defaults.epochs, help=f"default {defaults.epochs}"
    )
    parser.add_argument(
        "--out", metavar="RUN_DIR", default=None, help="run folder (default: a new one under runs/)"
    )
    parser.add_argument(
        "--resume", metavar="RUN_DIR", default=None, help="continue an interrupted run"
    )
    parser.add_argument(
        "--checkpoint",
        metavar="DIR",
        default=defaults.checkpoint,
        help="the SAM to fine-tune, a save_pretrained folder (default: the pretrained tiny SAM)",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        default=defaults.data,
        help="Images/ + Masks/ folder (default: data/water)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help=f"default {defaults.batch_size}"
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=defaults.learning_rate,
        help=f"Adam's (peak) learning rate (default {defaults.learning_rate})",
    )
    parser.add_argument(
        "--schedule",
        choices=("cosine", "constant"),
        default=defaults.schedule,
        help=f"learning rate over the run: cosine decay or constant (default {defaults.schedule})",
    )
    parser.add_argument(
        "--jitter",
        type=int,
        default=defaults.jitter,
        help=f"box jitter in training, px (default {defaults.jitter})",
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="split, shuffling, jitter, augmentation"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N images (a quick try)"
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="train without lesson 2's augmentation"
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto"
    )
    add_impl_argument(parser)


def run(args: argparse.Namespace) -> int:
    from bam.implementations import ImplementationUnavailable, UnfinishedExercises
    from bam.train_sam import RunConfig, new_run_dir, train

    try:
        if args.resume:
            history = train(RunConfig(), args.resume, resume=True)
            run_dir = args.resume
        else:
            config = RunConfig(
                data=args.data,
                checkpoint=args.checkpoint,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.lr,
                schedule=args.schedule,
                jitter=args.jitter,
                seed=args.seed,
                impl=args.impl,
                device=args.device,
                augment=not args.no_augment,
                limit=args.limit,
            )
            run_dir = args.out or str(new_run_dir())
            print(f"run folder: {run_dir}")
            history = train(config, run_dir)
    except KeyboardInterrupt:
        return 130
    except (
        UnfinishedExercises,
        ImplementationUnavailable,
        FileNotFoundError,
        FileExistsError,
        ValueError,
    ) as error:
        print(f"bam train sam: {error}", file=sys.stderr)
        return 2
    if history:
        last = history[-1]
        print(
            f"done: test IoU {last['test_iou']:.4f}, Dice {last['test_dice']:.4f}; see {run_dir}/curves.png"
        )
    return 0
