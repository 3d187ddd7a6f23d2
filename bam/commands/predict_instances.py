"""``bam predict instances [IMAGE...]``: instance masks from a detector and a SAM.

Lesson 11's pipeline on image files: the detector (``--detector``: a ``bam train detector`` or
``bam train yolo`` run, or its ``checkpoint.pt``; the newest ``runs/detector-*`` by default)
finds the boxes — each image resized to the run's training
size, the boxes scaled back to the image's own pixels, as ``bam predict detector`` — and
``segment_instances`` prompts the SAM (``--sam``: the bundled pretrained tiny SAM by default,
or a ``bam train sam`` run) with them. Prints one line per instance and saves
``<name>.instances.png`` into ``--out``: each instance's mask filled in its class's colour and
outlined, its box and ``class score`` as ``bam predict detector`` draws them. An image that sits
in a VOC folder with instance masks (``.../JPEGImages/<id>.jpg`` next to
``.../SegmentationObject/<id>.png``) gets its ground truth drawn beside it with ``--truth``;
``--sheet FILE`` also saves all the images in one figure. Without images: the first four test
images of ``data/shapes``, with their ground truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

DESCRIPTION = "instance masks of image files: a detector run's boxes prompt a SAM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.implementations import add_impl_argument

    parser.add_argument(
        "images",
        nargs="*",
        help="image files (jpg, png, ...); default: the first 4 test images of data/shapes,"
        " with their ground truth",
    )
    parser.add_argument(
        "--detector",
        metavar="RUN",
        default=None,
        help="a run folder of bam train detector (or yolo), or its checkpoint.pt (default: the"
        " newest runs/detector-* with a checkpoint)",
    )
    parser.add_argument(
        "--sam",
        metavar="DIR",
        default=None,
        help="the SAM: a save_pretrained folder or a bam train sam run folder"
        " (default: the bundled pretrained tiny SAM)",
    )
    parser.add_argument(
        "--out", default=None, help="folder for the PNGs (default: the detector run's instances/)"
    )
    parser.add_argument(
        "--score", type=float, default=0.5, help="detections scoring above this (default 0.5)"
    )
    parser.add_argument(
        "--truth", action="store_true", help="draw the ground truth beside, where there is one"
    )
    parser.add_argument(
        "--sheet", metavar="FILE", default=None, help="also save all images in one figure"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    add_impl_argument(parser)


# ----------------------------------------------------------------------------- the command


def run(args: argparse.Namespace) -> int:
    import sys

    import matplotlib.pyplot as plt

    from bam.configs import PRETRAINED_TINY_SAM, SHAPES_ROOT
    from bam.course import UnfinishedExercises
    from bam.data.datasets import DatasetError, load_image
    from bam.implementations import ImplementationUnavailable
    from bam.pipelines.instances import (
        detect,
        detector_run_dir,
        load_detector,
        load_instances,
        sam_folder,
        voc_truth,
    )
    from bam.plots.instances import instances_figure
    from bam.sam_model import load_sam
    from bam.train import pick_device

    device = pick_device(args.device)
    try:
        instances = load_instances(args.impl, "bam predict instances")["instances"]
        run_dir = detector_run_dir(args.detector)
        model, config = load_detector(run_dir, args.impl, device)
        sam = load_sam(sam_folder(args.sam or PRETRAINED_TINY_SAM), device=device).eval()
    except (UnfinishedExercises, ImplementationUnavailable, FileNotFoundError, ValueError) as error:
        print(f"bam predict instances: {error}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else run_dir / "instances"
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    shown: tuple[list, list, list, list] = ([], [], [], [])
    names, with_truth = args.images, args.truth
    if not names:  # the first test images of the bundled shapes, with their ground truth
        split = (SHAPES_ROOT / "ImageSets" / "Main" / "test.txt").read_text().split()
        names = [str(SHAPES_ROOT / "JPEGImages" / f"{image_id}.jpg") for image_id in split[:4]]
        with_truth = True
    for name in names:
        path = Path(name)
        try:
            if not path.is_file():
                raise DatasetError(f"{path}: file not found")
            image = load_image(path)  # [3, H, W]
            truth = voc_truth(path, config.classes) if with_truth else None
        except DatasetError as error:
            print(f"bam predict instances: {error}", file=sys.stderr)
            status = 1
            continue
        found = detect(model, config.image_size, image)
        result = instances.segment_instances(sam, image, found, args.score)
        result = {key: value.cpu() for key, value in result.items()}
        print(f"{path}: {len(result['labels'])} instances")
        for box, score, label, mask in zip(
            result["boxes"], result["scores"], result["labels"], result["masks"], strict=True
        ):
            corners = ", ".join(f"{value:.0f}" for value in box.tolist())
            print(
                f"  {config.classes[int(label) - 1]:<10} {float(score):.2f}  box ({corners})"
                f"  mask {int(mask.sum())} px"
            )
        figure = instances_figure([image], [result], config.classes, [truth], [path.name])
        target = out / f"{path.stem}.instances.png"
        figure.savefig(target, dpi=110, bbox_inches="tight")
        plt.close(figure)
        print(f"  saved {target}")
        for collected, item in zip(shown, (image, result, truth, path.name), strict=True):
            collected.append(item)
    if args.sheet and shown[0]:
        figure = instances_figure(*shown[:2], config.classes, shown[2], shown[3])
        Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.sheet, dpi=100, bbox_inches="tight")
        plt.close(figure)
        print(f"saved {args.sheet}")
    return status
