"""``bam pretrain backbone``: pretrain the detector's VGG16 backbone on synthetic shapes (a maintainer command).

Makes ``data/vgg-tiny-pretrained/`` (``config.json`` + ``model.safetensors``, 0.9 MB), the
stand-in for ImageNet weights that ``bam train detector`` and ``bam compare detector`` load by
default. Students never need to run it: the result is committed. The shipped weights were made
(2026-12-07, by today's loop and recipe) with the defaults::

    OMP_NUM_THREADS=1 bam pretrain backbone --threads 1 --out data/vgg-tiny-pretrained

(seed 0, one torch thread: all 2000 steps of 12 images in 7.4 minutes on a 2-core CPU shared
with another training run; the final losses are in ``config.json``). ``--minutes`` is a safety limit: a run
that hits it stops early, with a different result. The images are drawn on the fly by
:mod:`bam.pipelines.backbone_pretraining` (none from ``data/shapes``); nothing is downloaded.
"""

from __future__ import annotations

import argparse

DESCRIPTION = (
    "pretrain the detector's VGG16 backbone on synthetic shapes (makes data/vgg-tiny-pretrained)"
)


# BackbonePretrainConfig's fields, made options by bam.options (impl: add_impl_argument)
CONFIG_OPTIONS = ("width", "steps", "batch_size", "learning_rate", "seed", "max_minutes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.configs import PRETRAINED_BACKBONE, BackbonePretrainConfig
    from bam.implementations import add_impl_argument
    from bam.options import Option, options_from_dataclass

    add_impl_argument(parser)
    parser.add_argument(
        "--out", default=str(PRETRAINED_BACKBONE), help="folder to save the backbone into"
    )
    options_from_dataclass(
        parser,
        BackbonePretrainConfig,
        {
            **dict.fromkeys(CONFIG_OPTIONS),
            "learning_rate": Option(flag="--lr"),
            "max_minutes": Option(flag="--minutes"),
        },
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch

    from bam.configs import BackbonePretrainConfig
    from bam.options import config_values
    from bam.pipelines.backbone_pretraining import pretrain

    if args.steps < 1 or args.batch_size < 1 or not args.width > 0:
        print("bam pretrain backbone: --steps, --batch-size and --width must be positive")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    config = pretrain(
        args.out,
        impl=args.impl,
        log=lambda line: print(line, flush=True),
        **config_values(args, BackbonePretrainConfig, CONFIG_OPTIONS),
    )
    print(f"saved {args.out}: {config['steps']} steps in {config['seconds'] / 60:.1f} min")
    return 0
