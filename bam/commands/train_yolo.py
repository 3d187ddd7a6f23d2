"""``bam train yolo``: train lesson 10's one-stage YOLO on the bundled shapes set (or a VOC folder).

The same pipeline as ``bam train detector`` — data, flips, Adam, schedule, run folder,
checkpoints, ``--resume``, ``torchrun`` — with the course's ``YOLO`` in place of ``FasterRCNN``.
``bam eval detector`` and ``bam predict detector`` read its run folder too. Its options are
YOLO's: Faster R-CNN's own (``--hidden`` of the FC head, ``--anchor-sizes``, ``--pool``) are not
offered (YOLO's anchors are its own, lesson 10).
"""

from __future__ import annotations

import argparse

DESCRIPTION = "train lesson 10's YOLO (your lessons by default) with the detector's pipeline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.detector_options import YOLO_OPTIONS, add_detector_arguments

    add_detector_arguments(parser, YOLO_OPTIONS, model="yolo")


def run(args: argparse.Namespace) -> int:
    from bam.detector_options import YOLO_OPTIONS, train_detector_command

    return train_detector_command(
        args, model="yolo", command="bam train yolo", config_options=YOLO_OPTIONS
    )
