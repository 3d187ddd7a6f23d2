"""A small measured comparison of segmentation losses for fine-tuning the tiny SAM.

``bam train sam`` always trains with lesson 3's DiceCE loss (it has no option for another
loss), so this script runs the same training loop (``bam.pipelines.sam.train``, same settings as
``bam compare sam --epochs 10``) with the loss swapped for pixel-wise cross-entropy, soft Dice,
DiceCE and a soft IoU (Jaccard) loss, and writes ``docs/results/sam-losses.md`` and
``docs/results/sam/losses-seed-S.json``. Run from the repository root::

    OMP_NUM_THREADS=1 python docs/results/sam_losses.py --seeds 0 1 2 --epochs 10

A seed whose ``docs/results/sam/losses-seed-S.json`` exists is read, not trained again
(``--fresh`` trains it again).

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


LOSSES = ("cross-entropy", "Dice", "DiceCE", "IoU (Jaccard)")


def run_seed(seed: int, epochs: int) -> dict:
    """Trains once per loss with ``seed``; returns the record saved as ``losses-seed-S.json``."""
    import bam.pipelines.sam as train_sam
    from bam.configs import RunConfig

    original = train_sam.load_exercises
    results = {}
    started_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for name in LOSSES:

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
        config = RunConfig(epochs=epochs, seed=seed, device="cpu")
        config.figures = False
        started = time.monotonic()
        try:
            with tempfile.TemporaryDirectory() as scratch:
                history = train_sam.train(config, Path(scratch) / "run", progress=False)
        finally:
            train_sam.load_exercises = original
        results[name] = {"per_epoch": history, "minutes": (time.monotonic() - started) / 60}
        last = history[-1]
        print(f"seed {seed}, {name}: IoU {last['test_iou']:.3f}, Dice {last['test_dice']:.3f}")
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "command": f"OMP_NUM_THREADS=1 python docs/results/sam_losses.py --seeds {seed}"
        f" --epochs {epochs}",
        "code": f"boxes-and-masks commit {commit or 'unrecorded'}",
        "started_utc": started_utc,
        "machine": "2-core shared x86-64 VM (Intel Xeon), 1 torch thread, no GPU",
        "results": results,
    }


def main() -> None:
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--fresh", action="store_true", help="train again even when a seed's JSON exists"
    )
    args = parser.parse_args()
    (HERE / "sam").mkdir(exist_ok=True)
    records = {}
    for seed in args.seeds:
        path = HERE / "sam" / f"losses-seed-{seed}.json"
        if path.is_file() and not args.fresh:
            records[seed] = json.loads(path.read_text())
            continue
        records[seed] = run_seed(seed, args.epochs)
        path.write_text(json.dumps(records[seed], indent=2) + "\n")

    def cell(name: str, key: str) -> str:
        values = [records[s]["results"][name]["per_epoch"][-1][key] for s in args.seeds]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        each = ", ".join(f"{value:.3f}" for value in values)
        return f"{statistics.mean(values):.3f} ± {spread:.3f} ({each})"

    seeds = " ".join(map(str, args.seeds))
    lines = [
        f"Measured with `OMP_NUM_THREADS=1 python docs/results/sam_losses.py --seeds {seeds}"
        f" --epochs {args.epochs}` (the training loop of `bam train sam` with its default settings"
        f" and only the loss swapped; {args.epochs} epochs; one run per loss and seed) on a shared"
        " 2-core CPU machine, one torch thread, no GPU, from"
        f" {min(r['started_utc'] for r in records.values())}"
        f" ({records[args.seeds[0]].get('code', 'code unrecorded')}). Last epoch; the seed also"
        " chooses"
        " the test split (30 images each); masks thresholded at probability 0.5.",
        "",
        "| training loss | test IoU, mean ± sd (per seed) | test Dice, mean ± sd (per seed) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {cell(name, 'test_iou')} | {cell(name, 'test_dice')} |" for name in LOSSES
    ]
    lines += [
        "",
        "On this set and budget the means are within about a hundredth of each other, less than"
        " the spread between seeds (each seed is another split and another training run). Seed"
        " by seed, cross-entropy alone comes last every time, behind each of the other three by"
        " 0.002 to 0.012 IoU; Dice, DiceCE"
        " and IoU losses cannot be told apart. Three seeds are too few to call that small gap"
        " real. The DiceCE rows equal what `bam compare sam` gives with the same code and seeds."
        " Per-epoch numbers and timings: `docs/results/sam/losses-seed-S.json`.",
    ]
    (HERE / "sam-losses.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
