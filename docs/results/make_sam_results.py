"""Collects the SAM fine-tuning runs into the committed artifacts of ``docs/results/``.

The docs build never trains: it includes ``docs/results/compare-sam.md`` (via
``<!-- bam:results compare-sam -->``) and shows the PNGs next to it. This script turns runs made
by ``bam compare sam`` into those files. The runs were made with, for each seed ``S``::

    OMP_NUM_THREADS=1 bam compare sam --epochs 10 --seed S --device cpu --out runs/sam-e10-sS \
        > runs/sam-e10-sS.log

(the log holds the comparison table ``bam compare sam`` prints; the run folder holds
``config.json``, ``metrics.json``, ``curves.png`` and ``predictions/``). Then::

    python docs/results/make_sam_results.py runs/sam-e10-s0 runs/sam-e10-s1 runs/sam-e10-s2

It copies each run's ``config.json`` and ``metrics.json`` (as ``sam/seed-S.json``), the first
run's curves and three of its predictions, and writes the table with mean and spread.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "sam"
ROWS = ("box as mask", "SAM before fine-tuning", "SAM fine-tuned")


def read_table(log: str) -> dict[str, tuple[float, float]]:
    """The ``| model | IoU | Dice |`` rows that ``bam compare sam`` printed."""
    rows = {}
    for name in ROWS:
        found = re.search(rf"\|\s*{re.escape(name)}\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", log)
        if found is None:
            raise SystemExit(f"no row {name!r} in the log")
        rows[name] = (float(found.group(1)), float(found.group(2)))
    return rows


def main(runs: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    tables, records = [], []
    for index, run in enumerate(map(Path, runs)):
        config = json.loads((run / "config.json").read_text())
        history = json.loads((run / "metrics.json").read_text())
        log = Path(f"{run}.log").read_text()
        minutes = float(re.search(r"fine-tuning took ([\d.]+) min", log).group(1))
        table = read_table(log)
        tables.append(table)
        seed = config["seed"]
        command = (
            f"OMP_NUM_THREADS=1 bam compare sam --epochs {config['epochs']} --seed {seed}"
            f" --device cpu --out runs/sam-e10-s{seed}"
        )
        meta = Path(f"{run}.meta").read_text().split()
        record = {
            "command": command,
            "code": f"boxes-and-masks commit {meta[1]}" if len(meta) > 1 else "unrecorded",
            "started_utc": meta[0],
            "minutes_fine_tuning": minutes,
            "machine": {
                "cpu": "2-core shared x86-64 VM (Intel Xeon), 1 torch thread, no GPU",
                "python": platform.python_version(),
            },
            "config": {k: v for k, v in config.items() if k not in ("data", "checkpoint")},
            "per_epoch": history,
            "test_split": {name: {"iou": iou, "dice": dice} for name, (iou, dice) in table.items()},
        }
        (OUT / f"seed-{seed}.json").write_text(json.dumps(record, indent=2) + "\n")
        records.append(record)
        if index == 0:
            shutil.copyfile(run / "curves.png", OUT / f"curves-seed-{seed}.png")
            predictions = sorted((run / "predictions").glob("*.png"))
            for path in predictions[:: max(1, len(predictions) // 3)][:3]:
                shutil.copyfile(path, OUT / f"prediction-seed-{seed}-{path.stem}.png")

    def cell(name: str, column: int) -> str:
        values = [table[name][column] for table in tables]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        each = ", ".join(f"{value:.3f}" for value in values)
        return f"{statistics.mean(values):.3f} ± {spread:.3f} ({each})"

    seeds = [record["config"]["seed"] for record in records]
    lines = [
        f"Measured with `bam compare sam --epochs 10 --seed S` for S = {', '.join(map(str, seeds))}"
        f" (started {records[0]['started_utc']}, {records[0]['code']}), on a shared 2-core CPU"
        " machine with one torch"
        " thread and no GPU, with the reference solutions. Each run fine-tunes the tiny SAM's"
        " mask decoder for 10 epochs (Adam, learning rate 3e-3 on a cosine, batch 8, box"
        " jitter 5 px, the course's flips and brightness/contrast) and scores the **last** epoch on its test split:"
        " the seed chooses the split, so each column is a different set of 30 test images.",
        "",
        "| model | IoU, mean ± sd (per seed) | Dice, mean ± sd (per seed) |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {cell(name, 0)} | {cell(name, 1)} |" for name in ROWS]
    minutes = ", ".join(f"{record['minutes_fine_tuning']:.1f}" for record in records)
    lines += [
        "",
        f"Fine-tuning took {minutes} min per run on the shared machine (its load varied a lot:"
        " the times are not a benchmark). The per-epoch numbers, the exact command and"
        " the settings of each run are in `docs/results/sam/seed-S.json`; the table is made from"
        " them by `docs/results/make_sam_results.py`.",
    ]
    (HERE / "compare-sam.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
