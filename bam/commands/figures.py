"""``bam figures OUT_DIR``: save the course's figures as PNG files.

In the instructors' copy the figures are drawn (with the reference ``solutions``). A student
release has no ``solutions``: there its figures were drawn when the release was made and ship in
``docs/figures/`` (listed in ``docs/figures/figures.json``), and this command copies them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

DESCRIPTION = "save the course's figures (the ones the docs show) as PNG files"

COURSE = Path(__file__).resolve().parents[2]
PREBUILT = COURSE / "docs" / "figures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", nargs="?", help="folder to write <name>.png files into")
    parser.add_argument("names", nargs="*", help="figure names (default: all)")
    parser.add_argument("--list", action="store_true", help="only list the figure names")


def prebuilt_figures(folder: Path = PREBUILT) -> dict[str, Path] | None:
    """The release's prebuilt figures by name, or ``None`` when this copy has none."""
    try:
        manifest = json.loads((folder / "figures.json").read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return {name: folder / f"{name}.png" for name in manifest.get("figures", {})}


def run(args: argparse.Namespace) -> int:
    from bam.implementations import solutions_available

    if not args.list and args.out_dir is None:
        print("bam figures: give OUT_DIR (or --list)", file=sys.stderr)
        return 2
    prebuilt = None if solutions_available() else prebuilt_figures()
    if prebuilt is None:
        from bam.plots import all_figures, save_figures

        if args.list:
            print("\n".join(sorted(all_figures())))
            return 0
        for path in save_figures(args.out_dir, args.names or None):
            print(path)
        return 0
    if args.list:
        print("\n".join(sorted(prebuilt)))
        return 0
    unknown = sorted(set(args.names) - set(prebuilt))
    if unknown:
        print(
            f"bam figures: unknown figure(s) {unknown}; known: {sorted(prebuilt)}", file=sys.stderr
        )
        return 2
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted(args.names or prebuilt):
        print(shutil.copyfile(prebuilt[name], out / f"{name}.png"))
    print(
        f"({len(args.names or prebuilt)} figures drawn when this copy was released, from {PREBUILT})"
    )
    return 0
