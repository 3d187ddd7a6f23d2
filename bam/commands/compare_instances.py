"""``bam compare instances``: instance masks from boxes, three ways, on the test split.

Lesson 11's pipeline, measured. For each test image of a VOC folder with instance masks (the
bundled ``data/shapes``), at the image's own resolution:

* **(a) boxes as masks** — the detector's boxes, filled (the baseline: what a detector alone
  says about the pixels);
* **(b) detector boxes -> SAM** — the pipeline, lesson 11's ``segment_instances``;
* **(c) ground-truth boxes -> SAM** — SAM prompted with the true boxes: the best the SAM stage
  can do with perfect boxes, so (c) - (b) is what the detector's boxes cost and (c) itself is
  what SAM's masks cost.

(b) and (c) run with every SAM given (``--sam``, repeatable: the bundled pretrained tiny SAM by
default, and e.g. one fine-tuned on the shapes by ``bam train sam --data data/shapes``).
Overlaps are resolved as in VOC's ``SegmentationObject`` (lesson 11's ``paste_masks``: the
higher score keeps a pixel; the filled boxes of (a) go through the same rule).

Columns: **mask AP@0.5** (lesson 11's ``mask_average_precision``, over every detection the
detector returns — its own score threshold, as its box mAP), **mean matched mask IoU** (for each
ground-truth instance, the IoU of the best same-class prediction scoring above ``--score``, by
``mask_iou_matrix``, 0 if there is none; the mean over all ground-truth instances), and
**images/s** (one image at a time, the stages the row runs: detector, filling or SAM; loading
and scoring not counted). Writes ``instances.md`` (the table) and ``instances.json`` (every
number, per class, and the settings) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

DESCRIPTION = "instance masks on the test split: boxes as masks, detector -> SAM, true boxes -> SAM"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.configs import SHAPES_ROOT
    from bam.implementations import add_impl_argument

    parser.add_argument(
        "--detector",
        metavar="RUN",
        default=None,
        help="a run folder of bam train detector (or yolo), or its checkpoint.pt (default: the"
        " newest runs/detector-* with a checkpoint)",
    )
    parser.add_argument(
        "--sam",
        action="append",
        metavar="DIR",
        default=None,
        help="a SAM: a save_pretrained folder or a bam train sam run folder; repeat for several"
        " (default: the bundled pretrained tiny SAM)",
    )
    parser.add_argument(
        "--data", default=str(SHAPES_ROOT), help="VOC folder with SegmentationObject/"
    )
    parser.add_argument("--split", default="test", help="the split scored (default test)")
    parser.add_argument(
        "--score",
        type=float,
        default=0.5,
        help="predictions scoring above this count for the matched IoU (default 0.5)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="folder for instances.md and instances.json (default: the detector run's instances/)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    add_impl_argument(parser)


def run(args: argparse.Namespace) -> int:
    from bam.configs import PRETRAINED_TINY_SAM
    from bam.course import UnfinishedExercises
    from bam.data.datasets import DatasetError
    from bam.implementations import ImplementationUnavailable
    from bam.pipelines.instances import compare_instances, markdown_table

    sams = args.sam or [str(PRETRAINED_TINY_SAM)]
    try:
        result = compare_instances(
            args.detector, sams, args.data, args.split, args.impl, args.device, args.score,
            args.limit,
        )  # fmt: skip
    except (
        UnfinishedExercises,
        ImplementationUnavailable,
        FileNotFoundError,
        DatasetError,
        ValueError,
    ) as error:
        print(f"bam compare instances: {error}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(result["settings"]["detector"]) / "instances"
    out.mkdir(parents=True, exist_ok=True)
    words = ["bam compare instances", f"--detector {result['settings']['detector']}"]
    words += [f"--sam {path}" for path in sams]
    words += [f"--data {args.data}", f"--split {args.split}", f"--score {args.score:g}"]
    words += [f"--impl {args.impl}", f"--device {args.device}"]
    words += [f"--limit {args.limit}"] if args.limit is not None else []
    result["command"] = " ".join(words)
    table = markdown_table(result)
    (out / "instances.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "instances.md").write_text(
        f"{result['images']} images, {result['instances']} instances of"
        f" `{result['settings']['data']}` ({result['settings']['split']} split); detector box"
        f" mAP@0.5 on them {result['box_map']:.3f}.\n\n{table}\n",
        encoding="utf-8",
    )
    print(table)
    print(f"detector box mAP@0.5 on the same images: {result['box_map']:.3f}")
    print(f"saved {out / 'instances.md'} and {out / 'instances.json'}")
    return 0
