"""``bam pretrain sam``: train the course's tiny SAM on synthetic shapes (a maintainer command).

Makes ``data/sam-tiny-pretrained/`` (``config.json`` + ``model.safetensors``, 1.6 MB), the
"foundation model" that lesson 4 fine-tunes on water. Students never need to run it: the result
is committed. The shipped model was made in four stages (each later one continues the one
before on new images, with a fresh learning-rate schedule)::

    bam pretrain sam --seed 0 --steps 800 --batch-size 6 --minutes 16 --threads 1 --out /tmp/stage1
    bam pretrain sam --init /tmp/stage1 --seed 1 --steps 600 --batch-size 6 --minutes 15 \
        --threads 1 --out /tmp/stage2
    bam pretrain sam --init /tmp/stage2 --seed 2 --steps 1600 --lr 8e-4 --batch-size 6 \
        --minutes 17 --threads 1 --out /tmp/stage3
    bam pretrain sam --init /tmp/stage3 --seed 3 --steps 1000 --lr 4e-4 --batch-size 6 \
        --minutes 10 --threads 1

Stage 1 stopped at its time limit after 478 steps (validation IoU 0.14 on synthetic shapes),
stage 2 after 365 steps (IoU 0.41), stage 3 after 1297 steps (IoU 0.39 -> 0.59), and stage 4
ran all its 1000 steps in 8.7 minutes (IoU 0.55 -> 0.58; each stage validates on images of its
own seed, so the numbers of different stages do not compare): 57 minutes of wall time on a
2-core CPU shared with other jobs (one torch thread; several threads are *slower* on a busy
machine). Stages 1-3 stop on the clock, so a rerun on another machine reaches different steps;
more steps (another ``--init`` stage, or a GPU with ``--threads`` left out) give a better model.
Lesson 4 feels every stage: after ``bam compare sam``'s 10 epochs of fine-tuning, the test
Dice is 0.745 from the stage-2 model, 0.857 from stage 3 and 0.875 from stage 4. The images
come from :mod:`bam.pipelines.sam_pretraining`; nothing is downloaded.

Those stages ran the loop before the pipelines shared one schedule and one step seed: each
stage warmed up as ``(step + 1) / warm-up steps`` and seeded step ``s``'s images with
``seed * 1_000_003 + s``. Today's recipe warms up from 1/25 (``bam.train.schedules
.warmup_cosine``) and seeds with ``bam.train.loop.step_seed``, so a rerun of these commands
draws other images and gives a similar, not identical, model.
"""

from __future__ import annotations

import argparse

DESCRIPTION = "pretrain the tiny SAM on synthetic shapes (makes data/sam-tiny-pretrained)"


# SamPretrainConfig's fields, made options by bam.options
CONFIG_OPTIONS = ("steps", "batch_size", "learning_rate", "seed", "max_minutes", "init")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.configs import PRETRAINED_TINY_SAM, SamPretrainConfig
    from bam.options import Option, options_from_dataclass

    parser.add_argument(
        "--out", default=str(PRETRAINED_TINY_SAM), help="folder to save the model into"
    )
    options_from_dataclass(
        parser,
        SamPretrainConfig,
        {
            **dict.fromkeys(CONFIG_OPTIONS),
            "learning_rate": Option(flag="--lr"),
            "max_minutes": Option(flag="--minutes"),
            "init": Option(metavar="DIR"),
        },
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch

    from bam.configs import SamPretrainConfig
    from bam.options import config_values
    from bam.pipelines.sam_pretraining import pretrain

    if args.steps < 1 or args.batch_size < 1:
        print("bam pretrain sam: --steps and --batch-size must be positive")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    result = pretrain(
        args.out,
        log=lambda line: print(line, flush=True),
        **config_values(args, SamPretrainConfig, CONFIG_OPTIONS),
    )
    print(
        f"saved {args.out}: {result['steps']} steps in {result['seconds'] / 60:.1f} min,"
        f" validation IoU {result['validation_iou']:.3f}"
    )
    return 0
