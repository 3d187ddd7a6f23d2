"""Collects the detector runs into the committed artifacts of ``docs/results/``.

The docs build never trains. ``bam compare detectors`` trains, per seed, the course's Faster
R-CNN, the course's YOLO and torchvision's Faster R-CNN with the one training loop and times
their inference side by side; this script turns its output folder (and the equal-learning-rate
RoI pooling run) into:

* ``compare-detectors.md`` — the three models' table (lesson 10 and the comparison page);
* ``compare-detector.md`` — the course's Faster R-CNN against torchvision's, and RoI pooling
  against RoIAlign (lesson 9);
* ``detector/`` — per run, the settings and per-epoch metrics (``seed-S-MODEL.json``, without
  the per-step losses), and seed 0's loss curves and detections of each model.

The runs of 2026-12-01 were made with::

    OMP_NUM_THREADS=1 bam compare detector --epochs 24 --threads 1 --seed S   # S = 0, 1, 2
    OMP_NUM_THREADS=1 bam train yolo --threads 1 --seed S                   # S = 0, 1, 2
    OMP_NUM_THREADS=1 bam train detector --threads 1 --seed 0 --pool roi_pool
    OMP_NUM_THREADS=1 bam compare detectors --epochs 24 --threads 1 --out OUT  # reuses them

(the first two lay their run folders out as ``OUT/seed-S/{faster_rcnn,torchvision,yolo}``; the
last one reuses finished runs and measures the speed). Then::

    python docs/results/make_detector_results.py OUT ROI_POOL_RUN "the machine, in words (CPU or GPU)" \
        ["which code trained the runs"]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "detector"
LABELS = {
    "faster_rcnn": "Faster R-CNN (course)",
    "yolo": "YOLO (course, lesson 10)",
    "torchvision": "Faster R-CNN (torchvision)",
}


def spread(values: list[float], digits: int) -> str:
    deviation = statistics.stdev(values) if len(values) > 1 else 0.0
    each = ", ".join(f"{value:.{digits}f}" for value in values)
    return f"{statistics.mean(values):.{digits}f} ± {deviation:.{digits}f} ({each})"


def slim(run: Path) -> dict:
    history = json.loads((run / "metrics.json").read_text())
    return {
        "config": json.loads((run / "config.json").read_text()),
        "epochs": [{k: v for k, v in record.items() if k != "steps"} for record in history],
    }


def figure(alt: str, path: str) -> str:
    """An image that links to itself, full size (the site's figures all do)."""
    return f"[![{alt}]({path})]({path})"


def main(compare: Path, roi_pool_run: Path, machine: str, code: str | None = None) -> None:
    OUT.mkdir(exist_ok=True)
    summary = json.loads((compare / "summary.json").read_text())
    rows = summary["rows"]
    seeds = sorted({row["seed"] for row in rows})
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h %cs"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    for row in rows:
        run = compare / f"seed-{row['seed']}" / row["model"]
        payload = slim(run)
        (OUT / f"seed-{row['seed']}-{row['model']}.json").write_text(json.dumps(payload, indent=1))
        if row["seed"] == seeds[0]:
            for name in ("loss_curves.png", "detections.png"):
                shutil.copy(run / name, OUT / f"{row['model']}-{name.replace('_', '-')}")
    by_model = {model: [row for row in rows if row["model"] == model] for model in LABELS}

    def cell(model: str, key: str, digits: int) -> str:
        return spread([row[key] for row in by_model[model]], digits)

    ablation = slim(roi_pool_run)["epochs"][-1]["map"]
    align = next(row["map"] for row in by_model["faster_rcnn"] if row["seed"] == 0)
    settings = summary["header"]
    source = f"`{settings}`; {code or f'code at {commit}'}; {machine}"
    table = [
        "| model | mAP@0.5, last epoch | training (s) | images/s, batch 1 | images/s, batch 8 |",
        "|---|---|---|---|---|",
    ]
    for model, label in LABELS.items():
        table.append(
            f"| {label} | {cell(model, 'map', 3)} | {cell(model, 'training_seconds', 0)}"
            f" | {cell(model, 'ips_batch_1', 1)} | {cell(model, 'ips_batch_8', 1)} |"
        )
    kinds = [
        "| model | small (< 24 px) | large | touching another | apart |",
        "|---|---|---|---|---|",
    ]
    for model, label in LABELS.items():
        values = [[row["recall"][kind] for row in by_model[model]] for kind in
                  ("small", "large", "touching", "apart")]  # fmt: skip
        kinds.append(f"| {label} | " + " | ".join(spread(v, 2) for v in values) + " |")
    counts = by_model["yolo"][0]["recall"]
    (HERE / "compare-detectors.md").write_text(
        "Measured with `bam compare detectors` (mean ± standard deviation over seeds "
        f"{', '.join(map(str, seeds))}; each seed's value in brackets): {source}. Same split "
        "(300 training and 60 test images of `data/shapes/`), image size, pretrained backbone, "
        "epochs, optimiser, schedule and flips for the three; inference timed on the same 16 test "
        "images, the three models interleaved, median of 5 passes, one CPU thread.\n\n"
        + "\n".join(table)
        + "\n\nRecall at IoU 0.5 of the detections scoring 0.5 or more, by kind of object "
        f"({counts['small_count']} small and {counts['large_count']} large objects, "
        f"{counts['touching_count']} touching another and {counts['apart_count']} apart, "
        "in the test split):\n\n"
        + "\n".join(kinds)
        + "\n\nPer-run settings and per-epoch metrics: `detector/seed-S-MODEL.json`. Seed "
        f"{seeds[0]}'s loss curves and detections on the first test images:\n\n"
        + "\n\n".join(
            figure(
                f"{label}: detections on the first test images", f"detector/{model}-detections.png"
            )
            for model, label in LABELS.items()
        )
        + "\n"
    )
    ours = by_model["faster_rcnn"]
    theirs = by_model["torchvision"]
    (HERE / "compare-detector.md").write_text(
        "Measured with `bam compare detector` and `bam compare detectors` (mean ± standard "
        f"deviation over seeds {', '.join(map(str, seeds))}): {source}; RoIAlign in both models.\n\n"
        "| model | mAP@0.5, last epoch | training (s) |\n|---|---|---|\n"
        f"| {LABELS['faster_rcnn']} | {cell('faster_rcnn', 'map', 3)} |"
        f" {cell('faster_rcnn', 'training_seconds', 0)} |\n"
        f"| {LABELS['torchvision']} | {cell('torchvision', 'map', 3)} |"
        f" {cell('torchvision', 'training_seconds', 0)} |\n\n"
        f"Training time, course over torchvision: "
        f"{statistics.mean(a['training_seconds'] / b['training_seconds'] for a, b in zip(ours, theirs, strict=True)):.2f}x"
        " (the same loop; torchvision's model adds its own transform and runs its C++ ops).\n\n"
        "RoI pooling against RoIAlign at the **same** learning rate (1e-3), seed 0, 24 epochs, "
        f"last epoch: RoI pooling {ablation:.3f}, RoIAlign {align:.3f} mAP@0.5 "
        "(`bam train detector --pool roi_pool --seed 0`; one seed: an indication, not a result).\n\n"
        + figure(
            "Losses per step and epoch, and test mAP, of seed 0",
            "detector/faster_rcnn-loss-curves.png",
        )
        + "\n\n"
        + figure(
            "Detections (solid) and ground truth (dashed) on test images, seed 0",
            "detector/faster_rcnn-detections.png",
        )
        + "\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], *sys.argv[4:5])
