"""``bam data``: regenerate the bundled synthetic data sets, bit for bit, from a seed."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DESCRIPTION = "regenerate the bundled synthetic data (data/water, data/shapes) from a seed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bam.configs import BUNDLED_DATA
    from bam.data.synthetic import SHAPES_COUNT, WATER_COUNT

    parser.add_argument(
        "--out", default=str(BUNDLED_DATA), help="folder that gets water/ and shapes/"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="the data sets' seed (the bundled data: 0)"
    )
    parser.add_argument(
        "--only", choices=("water", "shapes"), default=None, help="regenerate one data set only"
    )
    parser.add_argument("--water-count", type=int, default=WATER_COUNT, help="water images")
    parser.add_argument("--shapes-count", type=int, default=SHAPES_COUNT, help="shapes images")
    parser.add_argument(
        "--jobs", type=int, default=min(8, os.cpu_count() or 1), help="worker processes"
    )
    parser.add_argument(
        "--contact-sheet",
        metavar="DIR",
        default=None,
        help="also save a grid of samples of each set as DIR/<set>-contact-sheet.png",
    )


def run(args: argparse.Namespace) -> int:
    from bam.data.synthetic import SHAPES_TEST_COUNT, write_shapes, write_water

    out = Path(args.out)
    wanted = [args.only] if args.only else ["water", "shapes"]
    for name in wanted:
        target = out / name
        _remove_generated(target, name)  # stale files of a larger run must not survive
        started = time.perf_counter()
        if name == "water":
            write_water(target, seed=args.seed, count=args.water_count, jobs=args.jobs)
        else:
            test_count = min(SHAPES_TEST_COUNT, args.shapes_count // 6)
            write_shapes(
                target,
                seed=args.seed,
                count=args.shapes_count,
                test_count=test_count,
                jobs=args.jobs,
            )
        size = sum(path.stat().st_size for path in target.rglob("*") if path.is_file())
        seconds = time.perf_counter() - started
        print(f"{target}: {size / 1e6:.1f} MB in {seconds:.1f} s")
    if args.contact_sheet:
        import matplotlib.pyplot as plt

        from bam.plots.data import shapes_contact_sheet, water_contact_sheet

        sheets = {"water": water_contact_sheet, "shapes": shapes_contact_sheet}
        folder = Path(args.contact_sheet)
        folder.mkdir(parents=True, exist_ok=True)
        for name in wanted:
            figure = sheets[name](out / name)
            path = folder / f"{name}-contact-sheet.png"
            figure.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(figure)
            print(path)
    return 0


GENERATED = {
    "water": ("Images/water_body_*.jpg", "Masks/water_body_*.jpg"),
    "shapes": (
        "JPEGImages/shapes_*.jpg",
        "Annotations/shapes_*.xml",
        "SegmentationObject/shapes_*.png",
        "SegmentationClass/shapes_*.png",
        "ImageSets/Main/train.txt",
        "ImageSets/Main/test.txt",
        "ImageSets/Segmentation/train.txt",
        "ImageSets/Segmentation/test.txt",
    ),
}


def _remove_generated(target: Path, name: str) -> None:
    """Deletes the files an earlier run wrote (only those: never a real data set beside them)."""
    for pattern in GENERATED[name]:
        for path in target.glob(pattern):
            path.unlink()
