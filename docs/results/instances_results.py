"""Collects lesson 11's measured runs into the committed artifacts of ``docs/results/``.

The docs build never trains. This script takes the output of ``bam compare instances`` (its
``instances.json``), the detector run and the SAM fine-tuning run it scored, and the sheet of
``bam predict instances --sheet``, and writes:

* ``instances.md`` — the results section of lesson 11's page (``<!-- bam:results instances
  -->``): the pipeline drawn, the table, the figure, the gap between (b) and (c) in numbers;
* ``instances/`` — ``instances.json`` (every number, per class, the settings), the per-epoch
  metrics of both runs (``detector-seed-0.json``, ``sam-shapes-seed-0.json``), the SAM run's
  curves and the figure of test images.

The runs of 2026-12-01 were made with (one CPU thread each, on the shared 2-core machine)::

    OMP_NUM_THREADS=1 bam train detector --impl solutions --threads 1 --seed 0 --out DET
    OMP_NUM_THREADS=1 bam train sam --impl solutions --data data/shapes --epochs 20 --seed 0 \\
        --device cpu --out SAM
    OMP_NUM_THREADS=1 bam compare instances --detector DET --sam data/sam-tiny-pretrained \\
        --sam SAM --out OUT
    OMP_NUM_THREADS=1 bam predict instances --detector DET --sam SAM --truth --sheet SHEET \\
        --out OUT/figures data/shapes/JPEGImages/shapes_XXXX.jpg ...

Then::

    python docs/results/instances_results.py OUT/instances.json DET SAM SHEET "the machine"
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "instances"


def slim(run: Path) -> dict:
    """A run's settings and per-epoch metrics (without per-step losses)."""
    history = json.loads((run / "metrics.json").read_text())
    return {
        "config": json.loads((run / "config.json").read_text()),
        "epochs": [{k: v for k, v in record.items() if k != "steps"} for record in history],
    }


def figure(alt: str, path: str) -> str:
    """An image that links to itself, full size (the site's figures all do)."""
    return f"[![{alt}]({path})]({path})"


def main(compare: Path, detector: Path, sam: Path, sheet: Path, machine: str) -> None:
    OUT.mkdir(exist_ok=True)
    text = compare.read_text()
    for path, name in ((detector, "DETECTOR_RUN"), (sam, "SAM_RUN"), (HERE.parent.parent, ".")):
        text = text.replace(str(path.resolve()), name).replace(str(path), name)
    result = json.loads(text)
    (OUT / "instances.json").write_text(text)
    detector_runs, sam_runs = slim(detector), slim(sam)
    for runs, name in (
        (detector_runs, "detector-seed-0.json"),
        (sam_runs, "sam-shapes-seed-0.json"),
    ):
        dumped = json.dumps(runs, indent=1) + "\n"
        for path, short in (
            (detector, "DETECTOR_RUN"),
            (sam, "SAM_RUN"),
            (HERE.parent.parent, "."),
        ):
            dumped = dumped.replace(str(path.resolve()), short).replace(str(path), short)
        (OUT / name).write_text(dumped)
    shutil.copy(sam / "curves.png", OUT / "sam-shapes-curves.png")
    shutil.copy(sheet, OUT / "test-images.png")
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h %cs"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()

    rows = result["rows"]
    by = {(row["row"], row["sam"] or ""): row for row in rows}
    sams = [row["sam"] for row in rows if row["row"] == "b"]
    pretrained, tuned = sams[0], sams[-1]
    a = by[("a", "")]
    b, c = by[("b", tuned)], by[("c", tuned)]
    b0, c0 = by[("b", pretrained)], by[("c", pretrained)]
    boxes = result["detector_boxes"]
    count, found = result["instances"], boxes["found"]
    missed = count - found
    classes = list(a["ap"])

    table = [
        "| method | SAM | mask AP@0.5 | "
        + " | ".join(f"AP {name}" for name in classes)
        + " | mean matched mask IoU | … on the instances the detector found | images/s |",
        "|---|---|---|" + "---|" * len(classes) + "---|---|---|",
    ]
    for row in rows:
        table.append(
            f"| {row['method']} | {row['sam'] or '—'} | **{row['mask_ap']:.3f}** | "
            + " | ".join(f"{row['ap'][name]:.3f}" for name in classes)
            + f" | **{row['mean_iou']:.3f}** | {row['mean_iou_found']:.3f}"
            f" | {row['images_per_second']:.1f} |"
        )
    detector_epochs = detector_runs["epochs"]
    sam_epochs = sam_runs["epochs"]
    detector_minutes = sum(record["seconds"] for record in detector_epochs) / 60
    sam_minutes = sum(record["seconds"] for record in sam_epochs) / 60
    gap_total = c["mean_iou"] - b["mean_iou"]
    # the matched IoU is a mean over all instances: split (c) - (b) over found and missed ones
    share_found = found / count
    gap_found = share_found * (c["mean_iou_found"] - b["mean_iou_found"])
    gap_missed = gap_total - gap_found
    per = result["per_instance"]
    tuned_b, tuned_c = b["iou_per_instance"], c["iou_per_instance"]
    lost = [i for i, flag in enumerate(per["found"]) if not flag]
    kept = [i for i, flag in enumerate(per["found"]) if flag]

    def mean(values: list[float]) -> float:
        return statistics.mean(values) if values else 0.0

    def fill(indices: list[int]) -> float:
        return statistics.median(per["area"][i] / per["box_area"][i] for i in indices)

    confused = [i for i in lost if per["box_iou_any_class"][i] >= 0.5]
    names = ["background", *classes]
    lost_by_class = {name: sum(names[per["label"][i]] == name for i in lost) for name in classes}
    all_by_class = {name: sum(names[label] == name for label in per["label"]) for name in classes}
    text = f"""Measured on the {result["images"]} test images ({count} instances) of `data/shapes/`,
at their own 320x240 resolution against the exact masks of `SegmentationObject/`: {machine};
{commit and f"code at {commit}, "}the reference solutions (`--impl solutions`). **One seed**
(0) for each run, the **last** epoch of each (no epoch picked on the test split): an indication
of the sizes of the gaps, not their spread.

{figure("The pipeline: detect, prompt, segment, paste, and the two rows it is measured against", "instances/pipeline.svg")}

- **Detector**: `bam train detector --impl solutions --threads 1 --seed 0` — the settings of
  the published detector results (24 epochs, 120x160, RoIAlign, pretrained backbone; see
  `docs/results/README.md`), {detector_minutes:.1f} min; box mAP@0.5 on the test split after the
  last epoch {detector_epochs[-1]["map"]:.3f} (`instances/detector-seed-0.json`).
- **Fine-tuned SAM**: `bam train sam --impl solutions --data data/shapes --epochs
  {len(sam_epochs)} --seed 0` — lesson 4's `train_step` on one sample per object of the 300
  training images (the object's mask, its box prompt by `box_prompt`, jittered 5 px), the
  bundled pretrained tiny SAM's decoder fine-tuned, {sam_minutes:.1f} min; its own test IoU at
  256x256 went from {sam_epochs[0]["test_iou"]:.3f} after epoch 1 to
  {sam_epochs[-1]["test_iou"]:.3f} after epoch {len(sam_epochs)}
  (`instances/sam-shapes-seed-0.json`, [curves](instances/sam-shapes-curves.png)).
- **Table**: `{result["command"]}` (`DETECTOR_RUN` and `SAM_RUN`: the two run folders).

{chr(10).join(table)}

*Mask AP@0.5*: lesson 11's `mask_average_precision` over every detection the detector returns
(its own score threshold, 0.05, as its box mAP, which is {result["box_map"]:.3f} on these
images). *Mean matched mask IoU*: for each ground-truth instance the IoU of the best same-class
mask scoring above {result["settings"]["score"]:g}, 0 if there is none, averaged over all
{count} instances; the next column averages the same over the {found} instances the detector
found (a same-class box scoring above {result["settings"]["score"]:g} at box IoU >= 0.5), the
same instances for every row. *Images/s*: one image at a time, one CPU thread on a machine
shared with other jobs (the load varied: compare the rows, not the machines), the stages the
row runs — the detector's forward pass, then filling or SAM (one image encoding and all the
image's boxes at once); loading and scoring not counted. Per class, per instance and the
settings: `instances/instances.json`.

{figure("Test images: detector boxes prompting the fine-tuned SAM (left), ground truth (right)", "instances/test-images.png")}

The figure: detector boxes prompting the fine-tuned SAM (left; detections scoring above
{result["settings"]["score"]:g}) and the ground truth (right), on four test images
(`bam predict instances --truth --sheet`). The last one is where the pipeline fails: the
detector puts one "triangle" box over a square and the triangle beside it, calls a circle a
square and misses the other triangle — SAM then segments, faithfully, the objects it was
pointed at under the wrong names, or nothing.

### The gap between (b) and (c)

Row (c) gives SAM the true boxes, so it is the best the SAM stage can do; (b) gives it the
detector's. With the fine-tuned SAM the matched IoU drops from {c["mean_iou"]:.3f} (c) to
{b["mean_iou"]:.3f} (b), a gap of {gap_total:.3f}, and mask AP from {c["mask_ap"]:.3f} to
{b["mask_ap"]:.3f}. The matched IoU is a mean over instances, so its gap splits exactly into
the instances the detector missed and those it found:

- **Missed objects: {gap_missed:.3f} of the {gap_total:.3f}.** The detector found {found} of
  the {count} instances (box recall {boxes["recall"]:.3f}: a same-class box scoring above
  {result["settings"]["score"]:g} at IoU >= 0.5). The other {missed} get
  {mean([tuned_b[i] for i in lost]):.3f} in (b) — no mask of their class anywhere near — and
  {mean([tuned_c[i] for i in lost]):.3f} in (c). {len(confused)} of them were found with the
  wrong class (a box of another class at IoU >= 0.5), the other {missed - len(confused)} not at
  all above the score. They are the hard objects: median {statistics.median(per["area"][i] for i in lost):.0f}
  px against {statistics.median(per["area"][i] for i in kept):.0f} px for the found ones, filling
  a median {fill(lost):.2f} of their box against {fill(kept):.2f} (occluded, or triangles:
  {", ".join(f"{lost_by_class[name]} of the {all_by_class[name]} {name}s" for name in classes)}
  were missed), which is why even SAM with their true box does worse on them than on the
  others ({mean([tuned_c[i] for i in lost]):.3f} against {mean([tuned_c[i] for i in kept]):.3f}).
- **Imprecise boxes: {gap_found:.3f}.** On the {found} found instances (c) reaches
  {c["mean_iou_found"]:.3f} and (b) {b["mean_iou_found"]:.3f}: the detector's boxes, whose mean
  IoU with the true boxes is {boxes["mean_box_iou_found"]:.3f} there, cost only
  {c["mean_iou_found"] - b["mean_iou_found"]:.3f} per found instance — a box prompt a few pixels
  off still points SAM at the same object, and SAM's mask does not follow the box's edges
  (its fine-tuning jittered the prompts by up to 5 px). Weighted by their share
  ({share_found:.2f}) that is {gap_found:.3f}.

So the pipeline's gap to its upper bound is the detector's recall, not its box precision:
better masks from (b) need fewer missed and misclassified objects (a better detector, or a
lower score threshold for the prompts), while the SAM stage's own shortfall — (c) is
{1 - c["mean_iou"]:.3f} short of perfect masks, {1 - c["mean_iou_found"]:.3f} on the found
instances — is the tiny SAM's: its masks are decoded on a 64x64 grid and upsampled 4x (sharp
triangle corners come out rounded; AP triangle {c["ap"].get("triangle", 0):.3f} in (c)).
Mask AP ({c["mask_ap"]:.3f} (c) against {b["mask_ap"]:.3f} (b)) weighs the same two causes
differently. It ranks every detection down to the detector's own threshold, 0.05, where the
detector finds {boxes["found_any_score"]} of the {count} instances ({found} above
{result["settings"]["score"]:g}): the missed objects come back, but at low scores, ranked
below false detections. Row (c) has no false detections at all (one prompt per true object,
a false positive only where SAM's mask misses IoU 0.5), row (b) has the detector's: its AP
pays for the late, low-scored objects and for the false positives ranked above them.

Against the baseline, (a) scores {a["mean_iou"]:.3f} matched IoU and {a["mask_ap"]:.3f} mask
AP. A filled box passes IoU 0.5 for a circle (it fills pi/4 = 0.79 of its box) and for the
squares (turned by at most 0.4 rad, a square still fills 58% of its box): AP circle
{a["ap"].get("circle", 0):.3f}, square {a["ap"].get("square", 0):.3f}; but a triangle fills
at most half of its box, so its filled box almost never reaches IoU 0.5 (AP triangle
{a["ap"].get("triangle", 0):.3f}). The pretrained SAM, never trained on these images,
gives {b0["mean_iou"]:.3f} in (b) and {c0["mean_iou"]:.3f} in (c); fine-tuning on the shapes'
training masks brings them to {b["mean_iou"]:.3f} and {c["mean_iou"]:.3f}.
"""
    (HERE / "instances.md").write_text(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
