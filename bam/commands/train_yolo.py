"""``bam train yolo``: train lesson 10's one-stage YOLO on the bundled shapes set (or a VOC folder).

The same pipeline as ``bam train detector`` — data, flips, Adam, schedule, run folder,
checkpoints, ``--resume``, ``torchrun`` — with the course's ``YOLO`` in place of ``FasterRCNN``.
``bam eval detector`` and ``bam predict detector`` read its run folder too.
"""

from __future__ import annotations

import argparse

from bam.commands import train_detector

DESCRIPTION = "train lesson 10's YOLO (your lessons by default) with the detector's pipeline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    train_detector.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return train_detector.run(args, model="yolo", command="bam train yolo")
