"""``bam figures OUT_DIR``: save the course's figures as PNG files."""

from __future__ import annotations

import argparse

DESCRIPTION = "save the course's figures (the ones the docs show) as PNG files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", help="folder to write <name>.png files into")
    parser.add_argument("names", nargs="*", help="figure names (default: all)")
    parser.add_argument("--list", action="store_true", help="only list the figure names")


def run(args: argparse.Namespace) -> int:
    from bam.plots import all_figures, save_figures

    if args.list:
        print("\n".join(sorted(all_figures())))
        return 0
    for path in save_figures(args.out_dir, args.names or None):
        print(path)
    return 0
