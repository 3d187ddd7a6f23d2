"""``bam pretrain backbone``: pretrain the detector's VGG16 backbone on synthetic shapes (a maintainer command).

Makes ``data/vgg-tiny-pretrained/`` (``config.json`` + ``model.safetensors``, 0.9 MB), the
stand-in for ImageNet weights that ``bam train detector`` and ``bam compare detector`` load by
default. Students never need to run it: the result is committed. The shipped weights were made
with::

    bam pretrain backbone --width 0.125 --seed 0 --steps 900 --minutes 8 --threads 1

(seed 0, one torch thread: all 900 steps of 12 images in 6.0 minutes on a 2-core CPU shared with
other jobs; the final losses are in ``config.json``). ``--minutes`` is a safety limit: a run
that hits it stops early, with a different result. The images are drawn on the fly by
:mod:`bam.backbone_pretrain` (none from ``data/shapes``); nothing is downloaded.
"""

from __future__ import annotations

import argparse

DESCRIPTION = (
    "pretrain the detector's VGG16 backbone on synthetic shapes (makes data/vgg-tiny-pretrained)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.backbone_pretrain import PRETRAINED_BACKBONE
    from bam.implementations import add_impl_argument

    add_impl_argument(parser)
    parser.add_argument(
        "--out", default=str(PRETRAINED_BACKBONE), help="folder to save the backbone into"
    )
    parser.add_argument(
        "--width", type=float, default=0.125, help="VGG16 channel multiplier (default 0.125)"
    )
    parser.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    parser.add_argument("--batch-size", type=int, default=12, help="images per step (default 12)")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and images")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this many minutes")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch

    from bam.backbone_pretrain import pretrain

    if args.steps < 1 or args.batch_size < 1 or not args.width > 0:
        print("bam pretrain backbone: --steps, --batch-size and --width must be positive")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    config = pretrain(
        args.out,
        width=args.width,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
        max_minutes=args.minutes,
        impl=args.impl,
        log=lambda line: print(line, flush=True),
    )
    print(f"saved {args.out}: {config['steps']} steps in {config['seconds'] / 60:.1f} min")
    return 0
