"""``bam bench``: time the box operations of lessons 3, 6 and 7 against torchvision's."""

from __future__ import annotations

import argparse

DESCRIPTION = "time box_iou, anchors, decoding, NMS and RoI pooling/align against torchvision"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names", nargs="*", help="operations to time (default: all), e.g. nms roi_align"
    )
    parser.add_argument(
        "--impl",
        choices=["solutions", "lessons"],
        default="solutions",
        help="whose code to time: the reference solutions (default) or your lessons",
    )
    parser.add_argument(
        "--repeat", type=int, default=7, help="timed runs of each (default 7; the median counts)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from bam import bench

    if args.repeat < 1:
        print("bam bench: --repeat must be at least 1")
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        results = bench.run(args.impl, args.repeat, args.names or None)
    except ValueError as error:
        print(f"bam bench: {error}")
        return 2
    print(bench.format_table(results, args.impl))
    return 0
