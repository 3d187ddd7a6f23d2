"""``bam train yolo``: train lesson 10's one-stage YOLO on the bundled shapes set (or a VOC folder).

The same pipeline as ``bam train detector`` — data, flips, Adam, schedule, run folder,
checkpoints, ``--resume``, ``torchrun`` — with the course's ``YOLO`` in place of ``FasterRCNN``.
``bam eval detector`` and ``bam predict detector`` read its run folder too. Its options are
YOLO's: Faster R-CNN's own (``--hidden`` of the FC head, ``--anchor-sizes``, ``--pool``) are not
offered (YOLO's anchors are its own, lesson 10).
"""

from __future__ import annotations

import argparse

from bam.commands import train_detector

DESCRIPTION = "train lesson 10's YOLO (your lessons by default) with the detector's pipeline"


FASTER_RCNN_ONLY = ("hidden", "anchor_sizes", "pool")
CONFIG_OPTIONS = tuple(
    name for name in train_detector.CONFIG_OPTIONS if name not in FASTER_RCNN_ONLY
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    train_detector.add_arguments(parser, CONFIG_OPTIONS)


def run(args: argparse.Namespace) -> int:
    return train_detector.run(
        args, model="yolo", command="bam train yolo", config_options=CONFIG_OPTIONS
    )
