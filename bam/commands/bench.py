"""``bam bench``: time the box operations of lessons 3, 6 and 7 against torchvision's."""

from __future__ import annotations

import argparse

DEFAULT_BUDGET_SECONDS = 5.0  # a first call slower than this is reported, not repeated

DESCRIPTION = "time box_iou, anchors, decoding, NMS and RoI pooling/align against torchvision"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names", nargs="*", help="operations to time (default: all), e.g. nms roi_align"
    )
    from bam.implementations import add_impl_argument

    add_impl_argument(parser)  # lessons in a student release (which has no solutions/)
    parser.add_argument(
        "--repeat", type=int, default=7, help="timed runs of each (default 7; the median counts)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_SECONDS,
        metavar="S",
        help="stop timing an operation whose first call takes longer than S seconds"
        f" (default {DEFAULT_BUDGET_SECONDS:g})",
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from bam import bench
    from bam.implementations import ImplementationUnavailable, lesson_module

    if args.repeat < 1:
        print("bam bench: --repeat must be at least 1")
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        lesson_module("metrics", args.impl)  # a clear message for solutions in a release
        cases = bench.select(args.names or None)
    except (ValueError, ImplementationUnavailable) as error:
        print(f"bam bench: {error}")
        return 2
    # one row at a time, as each is measured: a slow exercise never leaves the screen blank
    print(bench.table_header(args.impl), flush=True)
    for case in cases:
        print(
            bench.format_row(bench.run_case(case, args.impl, args.repeat, args.budget)), flush=True
        )
    print(bench.table_footer())
    return 0
