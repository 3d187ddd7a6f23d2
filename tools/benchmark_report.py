"""Turns ``docs/results/bench/*.json`` (written by ``tools/benchmark.py``) into the pages' tables.

Writes ``compare-detector.md`` (the course's Faster R-CNN, RoI pooling against RoIAlign),
``compare-yolo.md`` (Faster R-CNN against YOLO, each with its own recipe), ``compare-timing.md``
(the interleaved timing), ``compare-errors.md`` (the trained detectors scored again) and
``compare-sam.md`` into ``docs/results/``, and the RoI figure ``bench/roi.png``. A table whose
JSON is missing is left as it is. Every number comes from the JSON; nothing is trained here.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from tools.benchmark_format import source, spread
from tools.benchmark_roi import roi_md

LABELS = {
    "faster_rcnn": "Faster R-CNN (course)",
    "yolo": "YOLO (course, lesson 10)",
    "torchvision": "Faster R-CNN (torchvision twin)",
}


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def minutes(rows: list[dict], key: str) -> str:
    return spread([row[key] / 60 for row in rows], 2)


def detector_table(payloads: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| model | epochs | mAP@0.5, last epoch | training CPU time (min) | training wall time (min) |",
        "|---|---|---|---|---|",
    ]
    for payload in payloads:
        rows = payload["rows"]
        lines.append(
            f"| {LABELS[rows[0]['model']]} | {rows[0]['epochs']} | "
            f"{spread([row['map'] for row in rows], 3)} | {minutes(rows, 'train_cpu_seconds')} | "
            f"{minutes(rows, 'train_wall_seconds' if 'train_wall_seconds' in rows[0] else 'train_seconds')} |"
        )
    return lines


def timing_lines(timing: dict[str, Any]) -> list[str]:
    rows = {row["model"]: row for row in timing["rows"]}
    base = rows["faster_rcnn"]
    lines = [
        f"Interleaved timing ({source(timing)}): the models take turns, {timing['steps']} "
        f"training steps of {timing['batch_size']} images each per turn, {timing['repeats']} turns "
        "each after a warm-up turn (median); inference on the same 16 test images, batches of 1 "
        f"and 8, the models in turn, median of {timing['repeats']} passes.",
        "",
        "| model | training CPU s per step | ratio to course Faster R-CNN | images/s, batch 1 | images/s, batch 8 |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        ratio = row["train_cpu_seconds_per_step"] / base["train_cpu_seconds_per_step"]
        trained = row.get("inference_of", "") != "untrained"
        speed = (
            f"{row['images_per_second_batch_1']:.1f} | {row['images_per_second_batch_8']:.1f}"
            if trained
            else "not measured (no trained run) | not measured"
        )
        lines.append(
            f"| {LABELS[name]} | {row['train_cpu_seconds_per_step']:.3f} | {ratio:.2f}x | {speed} |"
        )
    timed = sorted({row["inference_of"] for row in rows.values()} - {"untrained"})
    lines += ["", "Images per second are wall-clock, so they fall with the machine's load; "
              f"the trained runs timed: {', '.join(f'`{run}`' for run in timed) or 'none'}."]  # fmt: skip
    return lines


def sam_md(sam: dict[str, Any]) -> str:
    rows = sam["rows"]
    table = ["| model | IoU, mean ± sd (per seed) | Dice, mean ± sd (per seed) |", "|---|---|---|"]
    for name in ("box as mask", "SAM before fine-tuning", "SAM fine-tuned"):
        ious = [row["compare"][name]["iou"] for row in rows]
        dices = [row["compare"][name]["dice"] for row in rows]
        table.append(f"| {name} | {spread(ious, 3)} | {spread(dices, 3)} |")
    config = rows[0]
    return (
        f"Measured with {source(sam)}: `bam train sam` with its defaults ({config['epochs']} "
        "epochs) per seed, then `bam compare sam` on the run; the **last** epoch is scored on "
        "that seed's own test split (the seed chooses the split, so each column is a different set of "
        "test images).\n\n" + "\n".join(table) + "\n\n"
        f"Fine-tuning took {minutes(rows, 'train_cpu_seconds')} min of CPU time "
        f"({minutes(rows, 'train_seconds')} min wall-clock) per run, one thread; the CPU time is "
        "the budget's measure (what the run takes on an idle core), the wall time also counts "
        "other jobs on the shared machine. Per-epoch Dice and settings: `bench/sam.json`.\n"
    )


ROOT = Path(__file__).resolve().parents[1]
NO_ROI = (
    "RoI pooling against RoIAlign has not been measured with this recipe yet "
    "(`python tools/benchmark.py roi --seeds 0 1 2` does it, on 3 seeds, with AP by object size)."
)


def earlier(results: Path) -> str:
    """The same recipe from the earlier bundled backbone (``bench/earlier-backbone/``), if kept:
    the backbone's part in the result, since nothing else changed."""
    folder = results / "bench" / "earlier-backbone"
    default, candidate = load(folder, "detector"), load(folder, "detector-candidate")
    if default is None:
        return ""
    before = json.loads((folder / "backbone-config.json").read_text(encoding="utf-8"))
    now = json.loads((ROOT / "data" / "vgg-tiny-pretrained" / "config.json").read_text("utf-8"))
    text = (
        " **The backbone's part**: the same defaults from the earlier bundled backbone "
        f"({before['steps']} steps of the loop before `bam.train.fit`, final class loss "
        f"{before['final_losses']['class']:.3f}; today's: {now['steps']} steps, "
        f"{now['final_losses']['class']:.3f}) reached "
        f"{spread([row['map'] for row in default['rows']], 3)} on seeds 0, 1, 2 "
        f"(commit {default['commit']}, `bench/earlier-backbone/`)"
    )
    if candidate is not None:
        text += (
            ", and a recipe tried then in its place (20 epochs, a cosine at 2e-3) "
            f"{spread([row['map'] for row in candidate['rows']], 3)}"
        )
    return text + "."


# what a recipe must reach to become the default (mAP@0.5, last epoch, training CPU minutes)
TARGET = {"mean": 0.95, "every_seed": 0.92, "cpu_minutes": 5.0}


def meets_target(rows: list[dict]) -> bool:
    maps = [row["map"] for row in rows]
    return (
        len(rows) >= 3
        and statistics.mean(maps) >= TARGET["mean"]
        and min(maps) >= TARGET["every_seed"]
        and max(row["train_cpu_seconds"] for row in rows) <= 60 * TARGET["cpu_minutes"]
    )


def candidate_md(candidate: dict[str, Any], detector: dict[str, Any] | None, results: Path,
                 bench: Path) -> str:  # fmt: skip
    """A recipe tried as the new default: its table and why it was (not) adopted."""
    rows = candidate["rows"]
    mean = statistics.mean(row["map"] for row in rows)
    against = ""
    if detector is not None:
        default = statistics.mean(row["map"] for row in detector["rows"])
        relation = "below" if mean < default else "above" if mean > default else "equal to"
        against = f" ({relation} the default's {default:.3f}, `compare-detector.md`)"
    adopted = meets_target(rows)
    return (
        f"A recipe tried as the new default and **{'adopted' if adopted else 'not adopted'}**: "
        f"its mean mAP@0.5 over the seeds is {mean:.3f}{against}; it "
        f"{'meets' if adopted else 'misses'} the target for a new default (mean at least "
        f"{TARGET['mean']} over 3 seeds, every seed at least {TARGET['every_seed']}, at most "
        f"{TARGET['cpu_minutes']:g} min of training CPU time on one thread). "
        + detector_md(candidate, results, bench)
    )


def yolo_md(yolo: dict[str, Any], detector: dict[str, Any],
            timing: dict[str, Any] | None) -> str:  # fmt: skip
    """Each detector with its own command's defaults, at about equal training time."""
    config = yolo["rows"][0]["config"]
    step = ""
    if timing is not None:
        per_step = {row["model"]: row["train_cpu_seconds_per_step"] for row in timing["rows"]}
        step = (
            f" (a YOLO step costs {per_step['yolo'] / per_step['faster_rcnn']:.2f} of a Faster "
            "R-CNN step in the interleaved timing, `compare-timing.md`)"
        )
    return (
        f"Faster R-CNN: {source(detector)}. YOLO: {source(yolo)}. Each with its own command's "
        f"defaults: `bam train detector` ({detector['rows'][0]['epochs']} epochs, "
        "`compare-detector.md`) and `bam train yolo` "
        f"({config['epochs']} epochs{step}, Adam at a peak learning rate of "
        f"{config['learning_rate']:g} with a warm-up over {config['warmup']:.0%} of the steps "
        "then a cosine to 0), so that both train for about the same CPU time; the same data, "
        "flips and pretrained backbone. Scored on the test split after the **last** epoch. "
        "Training time is the sum over epochs of the training steps (evaluation excluded)."
        + (" Fewer than 3 seeds: an indication, not a result." if len(yolo["rows"]) < 3 else "")
        + "\n\n"
        + "\n".join(detector_table([detector, yolo]))
    )


ERROR_COLUMNS = {
    "map_30": "mAP@0.3",
    "map_50": "mAP@0.5",
    "map_70": "mAP@0.7",
    "class_agnostic_map_50": "mAP@0.5, classes merged",
    "class_agnostic_map_70": "mAP@0.7, classes merged",
    "recall_50": "recall@0.5, score ≥ 0.5",
}


def errors_md(errors: dict[str, Any]) -> str:
    """The trained detectors rescored, and Faster R-CNN without its second stage
    (``tools/benchmark_errors.py``)."""
    lines = [
        "| model | " + " | ".join(ERROR_COLUMNS.values()) + " |",
        "|---" * (len(ERROR_COLUMNS) + 1) + "|",
    ]
    for model in ("faster_rcnn", "first_stage", "yolo"):
        rows = [
            row
            for row in errors["rows"]
            if row["model"] == model.replace("first_stage", "faster_rcnn")
        ]
        if not rows or (model == "first_stage" and "first_stage_map_50" not in rows[0]):
            continue
        label = (
            LABELS["faster_rcnn"] + ", its RPN alone" if model == "first_stage" else LABELS[model]
        )
        cells = []
        for key in ERROR_COLUMNS:
            if model == "first_stage":  # the RPN has no classes: only the merged columns
                key = key.replace("class_agnostic_map", "first_stage_map")
                if not key.startswith("first_stage"):
                    cells.append("—")
                    continue
            present = all(key in row for row in rows)
            cells.append(spread([row[key] for row in rows], 3) if present else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    slots = errors["slots"]
    return (
        f"The same trained runs scored again ({source(errors)}; no training, inference on the "
        "CPU): mAP at a looser "
        "and a stricter IoU, mAP with the three classes merged into one, and recall of the "
        "detections scoring 0.5 or more, on the test split. **The ablation**: Faster R-CNN with "
        "its second stage taken away, its RPN's proposals (objectness as the score, NMS at the "
        "head's 0.5) scored as class-agnostic detections — a one-stage detector on the same "
        "stride-16 map, as YOLO is.\n\n"
        + "\n".join(lines)
        + "\n\nObjects sharing a YOLO slot (the same stride-16 cell and best anchor): "
        + ", ".join(
            f"{counts['sharing_a_slot']} of the {counts['objects']} {split} objects"
            f" ({counts['sharing_a_cell']} share a cell)"
            for split, counts in slots.items()
        )
        + ".\n"
    )


def detector_md(detector: dict[str, Any], results: Path, bench: Path) -> str:
    """The course's Faster R-CNN with ``bam train detector``'s defaults, per seed."""
    config = detector["rows"][0]["config"]
    schedule = (
        f"a warm-up over {config['warmup']:.0%} of the steps then a cosine to 0"
        if config.get("schedule") == "cosine"
        else f"a 10x drop at {config['lr_drop']:.0%} of the run"
    )
    return (
        f"Measured with {source(detector)}: `bam train detector` per seed "
        + ("with its defaults " if not detector.get("overrides") else "")
        + f"({config['epochs']} epochs of {config['batch_size']}-image batches, {config['optimizer']} "
        f"at a peak learning rate of {config.get('learning_rate', config.get('lr')):g} with {schedule}, {'flips' if config.get('hflip', True) else 'no flips'}, {config['pool']}, "
        "the bundled pretrained backbone), scored on the test split after the **last** epoch "
        "(no best-epoch picking). Training time is the sum over epochs of the training steps "
        "(evaluation excluded): CPU time is what a run takes on an idle core with one thread; "
        "the wall time also counts the other jobs sharing the machine."
        + earlier(results)
        + "\n\n"
        + "\n".join(detector_table([detector]))
    )


def figures(detector: dict[str, Any], bench: Path) -> str:
    """Seed 0's loss curves, copied next to the JSON, as a Markdown image.

    Its detections are not shown here: the detectors' comparison (compare-detectors.md, on the
    same page) already shows the course's Faster R-CNN detections beside YOLO's and
    torchvision's, and a second grid of the same recipe and seed reads as a repeat.
    """
    import shutil

    rows = [row for row in detector["rows"] if row["seed"] == 0]
    if not rows:
        return ""
    source_png = ROOT / rows[0]["run_dir"] / "loss_curves.png"
    if not source_png.is_file():
        return ""
    target = "faster_rcnn-seed-0-loss-curves.png"
    shutil.copyfile(source_png, bench / target)
    alt = "Faster R-CNN (course): losses per step and epoch, and test mAP, seed 0"
    return f"[![{alt}](bench/{target})](bench/{target})"


SAM_SHOWN = ("water_body_0009", "water_body_0086", "water_body_0189")  # the SAM page's three


def sam_figures(sam: dict[str, Any], folder: Path) -> None:
    """Seed 0's curves and the SAM page's three predictions, copied from its run folder."""
    import shutil

    rows = [row for row in sam["rows"] if row["seed"] == 0]
    if not rows:
        return
    run_dir = ROOT / rows[0]["run_dir"]
    pairs = [(run_dir / "curves.png", folder / "curves-seed-0.png")] + [
        (run_dir / "predictions" / f"{name}.png", folder / f"prediction-seed-0-{name}.png")
        for name in SAM_SHOWN
    ]
    for source_png, target in pairs:
        if source_png.is_file():
            shutil.copyfile(source_png, target)
            print(f"wrote {target}")


def write_if(path: Path, text: str | None) -> None:
    if text is not None:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


def report(bench: Path, results: Path) -> None:
    detector, yolo = load(bench, "detector"), load(bench, "yolo")
    timing, sam, roi = load(bench, "timing"), load(bench, "sam"), load(bench, "roi")
    if detector is not None:
        parts = [detector_md(detector, results, bench)]
        if timing is not None:
            parts.append("\n".join(timing_lines(timing)))
        parts.append(roi_md(roi, bench) if roi is not None else NO_ROI)
        parts.append(figures(detector, bench))
        write_if(results / "compare-detector.md", "\n\n".join(parts).rstrip() + "\n")
    if detector is not None and yolo is not None:
        write_if(results / "compare-yolo.md", yolo_md(yolo, detector, timing) + "\n")
    errors = load(bench, "errors")
    if errors is not None:
        write_if(results / "compare-errors.md", errors_md(errors))
    for path in sorted(bench.glob("detector-candidate*.json")):
        text = candidate_md(load(bench, path.stem), detector, results, bench)
        write_if(results / f"compare-{path.stem}.md", text + "\n")
    if timing is not None:
        write_if(results / "compare-timing.md", "\n".join(timing_lines(timing)) + "\n")
    if sam is not None:
        write_if(results / "compare-sam.md", sam_md(sam))
        sam_figures(sam, results / "sam")
