"""A small measured comparison of segmentation losses for fine-tuning the tiny SAM.

``bam train sam`` always trains with lesson 3's DiceCE loss (it has no option for another
loss), so this script runs the same training loop (``bam.train_sam.train``, same settings as
``bam compare sam --epochs 10``) with the loss swapped for pixel-wise cross-entropy, soft Dice,
DiceCE and a soft IoU (Jaccard) loss, and writes ``docs/results/sam-losses.md`` and
``docs/results/sam/losses-seed-S.json``. Run from the repository root::

    OMP_NUM_THREADS=1 python docs/results/sam_losses.py --seed 0 --epochs 10

Every run scores its last epoch on the test split with IoU and Dice (thresholded at 0.5).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

HERE = Path(__file__).resolve().parent


def _flat(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return logits, target.to(logits.dtype)


def cross_entropy_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Pixel-wise binary cross-entropy on logits, mean over pixels and batch."""
    logits, target = _flat(logits, target)
    return F.binary_cross_entropy_with_logits(logits, target)


def soft_dice_loss(logits: Tensor, target: Tensor, smooth: float = 1e-5) -> Tensor:
    """1 - soft Dice of sigmoid(logits), per sample, mean over the batch."""
    logits, target = _flat(logits, target)
    p = torch.sigmoid(logits)
    intersection = (p * target).sum(dim=(-2, -1))
    total = p.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    return (1 - (2 * intersection + smooth) / (total + smooth)).mean()


def soft_iou_loss(logits: Tensor, target: Tensor, smooth: float = 1e-5) -> Tensor:
    """1 - soft IoU (Jaccard) of sigmoid(logits), per sample, mean over the batch."""
    logits, target = _flat(logits, target)
    p = torch.sigmoid(logits)
    intersection = (p * target).sum(dim=(-2, -1))
    union = p.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1)) - intersection
    return (1 - (intersection + smooth) / (union + smooth)).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    import bam.train_sam as train_sam

    original = train_sam.load_exercises
    results = {}
    for name in ("cross-entropy", "Dice", "DiceCE", "IoU (Jaccard)"):

        def load_with_loss(impl, needed, name=name):
            modules = original(impl, needed)
            if name == "DiceCE":
                return modules  # lesson 3's dice_ce_loss, as bam train sam
            loss = {
                "cross-entropy": cross_entropy_loss,
                "Dice": soft_dice_loss,
                "IoU (Jaccard)": soft_iou_loss,
            }[name]
            metrics = types.SimpleNamespace(**vars(modules["metrics"]))
            metrics.dice_ce_loss = loss
            return {**modules, "metrics": metrics}

        train_sam.load_exercises = load_with_loss
        config = train_sam.RunConfig(epochs=args.epochs, seed=args.seed, device="cpu")
        config.figures = False
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as scratch:
            history = train_sam.train(config, Path(scratch) / "run", progress=False)
        train_sam.load_exercises = original
        results[name] = {"per_epoch": history, "minutes": (time.monotonic() - started) / 60}
        last = history[-1]
        print(f"{name}: IoU {last['test_iou']:.3f}, Dice {last['test_dice']:.3f}")

    record = {
        "command": f"OMP_NUM_THREADS=1 python docs/results/sam_losses.py --seed {args.seed}"
        f" --epochs {args.epochs}",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": "2-core shared x86-64 VM (Intel Xeon), 1 torch thread, no GPU",
        "results": results,
    }
    (HERE / "sam").mkdir(exist_ok=True)
    (HERE / "sam" / f"losses-seed-{args.seed}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"Measured with `{record['command']}` (the training loop of `bam train sam`, its default"
        f" settings, {args.epochs} epochs, seed {args.seed}, one run per loss) on a shared 2-core"
        " CPU machine, one torch thread. Last epoch, test split of seed"
        f" {args.seed} (30 images), masks thresholded at probability 0.5.",
        "",
        "| training loss | test IoU | test Dice | final training loss | minutes |",
        "|---|---|---|---|---|",
    ]
    for name, result in results.items():
        last = result["per_epoch"][-1]
        lines.append(
            f"| {name} | {last['test_iou']:.3f} | {last['test_dice']:.3f} |"
            f" {last['train_loss']:.3f} | {result['minutes']:.1f} |"
        )
    lines += [
        "",
        "One seed only: differences of a few hundredths are within the spread that the three"
        " seeds of the table above show for DiceCE. The losses' values are on different scales"
        " and are not comparable with each other. Per-epoch numbers:"
        f" `docs/results/sam/losses-seed-{args.seed}.json`.",
    ]
    (HERE / "sam-losses.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
