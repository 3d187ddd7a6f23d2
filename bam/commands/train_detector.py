"""``bam train detector``: train the course's Faster R-CNN on the bundled shapes set (or a VOC folder).

Writes a run folder (config, checkpoint, metrics per epoch, loss curves, detections); see
:mod:`bam.pipelines.detector`. Runs unchanged under ``torchrun --nproc_per_node=N``.
"""

from __future__ import annotations

import argparse

DESCRIPTION = "train the course's Faster R-CNN (your lessons by default) and save a run folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.detector_options import DETECTOR_OPTIONS, add_detector_arguments

    add_detector_arguments(parser, DETECTOR_OPTIONS)


def run(args: argparse.Namespace) -> int:
    from bam.detector_options import train_detector_command

    return train_detector_command(args)
