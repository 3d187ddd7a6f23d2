"""``bam compare sam``: the box as a mask, SAM before fine-tuning, and after — on one test split."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = "compare on the water test split: box as mask, pretrained SAM, fine-tuned SAM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.configs import RunConfig
    from bam.implementations import add_impl_argument

    defaults = RunConfig()
    parser.add_argument(
        "run",
        nargs="?",
        default=None,
        help="a `bam train sam` run folder (or a save_pretrained folder): the fine-tuned model;"
        " without it, a fine-tuning run is made first (--epochs) in --out or a new runs/ folder",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="DIR",
        default=defaults.checkpoint,
        help="the SAM before fine-tuning",
    )
    parser.add_argument(
        "--data", metavar="DIR", default=defaults.data, help="Images/ + Masks/ folder"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help="epochs of the run made when none is given",
    )
    parser.add_argument(
        "--out", metavar="RUN_DIR", default=None, help="where the run made here goes"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of the split (same as the run's)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    add_impl_argument(parser)


def run(args: argparse.Namespace) -> int:
    import json
    import time
    from pathlib import Path

    from bam.configs import RunConfig
    from bam.course import UnfinishedExercises
    from bam.implementations import ImplementationUnavailable
    from bam.pipelines.sam import compare, new_run_dir, train

    try:
        config = RunConfig(
            data=args.data,
            checkpoint=args.checkpoint,
            epochs=args.epochs,
            seed=args.seed,
            impl=args.impl,
            device=args.device,
        )
        run_dir, minutes = args.run, None
        if run_dir is None:
            run_dir = args.out or str(new_run_dir())
            print(f"fine-tuning first ({args.epochs} epochs) into {run_dir}")
            started = time.monotonic()
            train(config, run_dir, progress=False)
            minutes = (time.monotonic() - started) / 60
        elif (Path(run_dir) / "config.json").is_file() and (Path(run_dir) / "model").is_dir():
            saved = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))
            config.seed, config.data, config.limit = (
                saved["seed"],
                saved["data"],
                saved.get("limit"),
            )
            config.test_ratio = saved["test_ratio"]
        rows = compare(config, run_dir)
    except (
        UnfinishedExercises,
        ImplementationUnavailable,
        FileNotFoundError,
        FileExistsError,
        ValueError,
    ) as error:
        print(f"bam compare sam: {error}", file=sys.stderr)
        return 2
    print(f"\nwater test split (seed {config.seed}), box prompts = tight boxes of the masks\n")
    print(f"| {'model':<24} | {'IoU':>6} | {'Dice':>6} |")
    print(f"|{'-' * 26}|{'-' * 8}|{'-' * 8}|")
    for name, scores in rows.items():
        print(f"| {name:<24} | {scores['iou']:6.3f} | {scores['dice']:6.3f} |")
    if minutes is not None:
        print(f"\nfine-tuning took {minutes:.1f} min ({args.epochs} epochs)")
    return 0
