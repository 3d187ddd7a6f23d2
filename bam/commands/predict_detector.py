"""``bam predict detector RUN_DIR IMAGE...``: detect objects in image files with a trained run.

Each image is resized to the run's training size, and the boxes are scaled back to the image's
own pixels. Prints one line per detection and saves ``<name>.detections.png`` next to ``--out``.
"""

from __future__ import annotations

import argparse

DESCRIPTION = "detect objects in image files with a trained detector run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run folder of bam train detector")
    parser.add_argument("images", nargs="+", help="image files (jpg, png, ...)")
    parser.add_argument(
        "--out", default=None, help="folder for the drawn PNGs (default: RUN_DIR/predictions)"
    )
    parser.add_argument(
        "--score", type=float, default=0.5, help="smallest score shown (default 0.5)"
    )
    parser.add_argument(
        "--impl", choices=("lessons", "solutions"), default=None, help="default: the run's"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F

    from bam.data.datasets import DatasetError, load_image
    from bam.pipelines.detector import load_trained, pick_device
    from bam.plots.detector import detections_figure

    try:
        model, config = load_trained(args.run_dir, args.impl, args.device)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"bam predict detector: {error}")
        return 1
    device = pick_device(args.device)
    out = Path(args.out) if args.out else Path(args.run_dir) / "predictions"
    out.mkdir(parents=True, exist_ok=True)
    height, width = config.image_size
    status = 0
    for name in args.images:
        path = Path(name)
        try:
            if not path.is_file():
                raise DatasetError(f"{path}: file not found")
            image = load_image(path)  # [3, H, W]
        except DatasetError as error:
            print(f"bam predict detector: {error}")
            status = 1
            continue
        resized = F.interpolate(image[None], size=(height, width), mode="bilinear", antialias=True)[
            0
        ]
        with torch.no_grad():
            found = model([resized.clamp(0, 1).to(device)])[0]
        scale = torch.tensor([image.shape[2] / width, image.shape[1] / height] * 2)
        found = {key: value.cpu() for key, value in found.items()}
        found["boxes"] = found["boxes"] * scale  # back to the image's own pixels
        keep = found["scores"] >= args.score
        print(f"{path}: {int(keep.sum())} detections")
        for box, score, label in zip(
            found["boxes"][keep], found["scores"][keep], found["labels"][keep], strict=True
        ):
            corners = ", ".join(f"{value:.0f}" for value in box.tolist())
            print(f"  {config.classes[int(label) - 1]:<10} {float(score):.2f}  ({corners})")
        figure = detections_figure([image], [found], None, config.classes, score_thresh=args.score)
        target = out / f"{path.stem}.detections.png"
        figure.savefig(target, dpi=110, bbox_inches="tight")
        plt.close(figure)
        print(f"  saved {target}")
    return status
