"""``bam train sam``: fine-tune SAM's mask decoder on the water set with box prompts (lesson 4)."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = (
    "fine-tune SAM with box prompts on data/water or a VOC folder with instance masks"
    " (curves, predictions, checkpoints)"
)


# RunConfig's fields made options by bam.options (--data and --checkpoint: below)
CONFIG_OPTIONS = (
    "batch_size",
    "learning_rate",
    "schedule",
    "jitter",
    "seed",
    "limit",
    "augment",
    "device",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.configs import RunConfig
    from bam.implementations import add_impl_argument
    from bam.options import Option, options_from_dataclass

    defaults = RunConfig()
    options_from_dataclass(parser, RunConfig, ["epochs"])
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
        help="an Images/ + Masks/ folder, or a VOC folder with SegmentationObject/ (one sample"
        " per object, e.g. data/shapes); default: data/water",
    )
    options_from_dataclass(
        parser,
        RunConfig,
        {
            **dict.fromkeys(CONFIG_OPTIONS),
            "learning_rate": Option(flag="--lr"),
            "augment": Option(help="train without lesson 2's augmentation"),
        },
    )
    add_impl_argument(parser)


def run(args: argparse.Namespace) -> int:
    from bam.configs import RunConfig
    from bam.course import UnfinishedExercises
    from bam.implementations import ImplementationUnavailable
    from bam.options import config_values
    from bam.pipelines.sam import new_run_dir, train

    try:
        if args.resume:
            history = train(RunConfig(), args.resume, resume=True)
            run_dir = args.resume
        else:
            config = RunConfig(
                data=args.data,
                checkpoint=args.checkpoint,
                epochs=args.epochs,
                impl=args.impl,
                **config_values(args, RunConfig, CONFIG_OPTIONS),
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
