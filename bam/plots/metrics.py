"""Figure of lesson 3: how detections are matched, and the precision-recall curve they give.

One hand-made scene (three ground truths of one class, six scored detections: hits, a
duplicate, a near miss and a stray box) is matched with the PASCAL VOC rule, using the
reference ``box_iou``; the area under the interpolated curve is the reference
``average_precision``. Drawn in well under a second, with no data and no trained model.
"""

from __future__ import annotations

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from bam import course

# ground truths and detections (x1, y1, x2, y2) on a 200 x 120 canvas, detections by score
TRUTHS = torch.tensor(
    [[10.0, 20.0, 60.0, 80.0], [80.0, 30.0, 120.0, 70.0], [140.0, 15.0, 190.0, 95.0]]
)
DETECTIONS = torch.tensor(
    [
        [12.0, 22.0, 62.0, 78.0],  # hits truth 0
        [142.0, 20.0, 188.0, 92.0],  # hits truth 2
        [14.0, 18.0, 58.0, 84.0],  # truth 0 again: a duplicate
        [96.0, 40.0, 136.0, 85.0],  # overlaps truth 1 too little
        [30.0, 90.0, 70.0, 115.0],  # on nothing
        [82.0, 28.0, 121.0, 72.0],  # hits truth 1, at a low score
    ]
)
SCORES = torch.tensor([0.95, 0.9, 0.8, 0.6, 0.45, 0.3])
OUTCOME_STYLE = {
    "true positive": "#2a9d8f",
    "duplicate (FP)": "#e76f51",
    "IoU < 0.5 (FP)": "#f4a261",
}


def voc_outcomes(boxes: Tensor, truths: Tensor, threshold: float = 0.5) -> list[str]:
    """Each detection's outcome (``boxes`` ranked by score), by the VOC devkit's rule.

    Args:
        boxes: Tensor[D, 4] detections ``(x1, y1, x2, y2)``, in decreasing score.
        truths: Tensor[G, 4] ground truths of the same class and image.
        threshold: IoU a match needs.

    Returns:
        One of the keys of ``OUTCOME_STYLE`` per detection.
    """
    best_iou, best = course.load("metrics", "solutions").box_iou(boxes, truths).max(dim=1)
    matched: set[int] = set()
    outcomes = []
    for iou, truth in zip(best_iou.tolist(), best.tolist(), strict=True):
        if iou < threshold:
            outcomes.append("IoU < 0.5 (FP)")
        elif truth in matched:
            outcomes.append("duplicate (FP)")
        else:
            matched.add(truth)
            outcomes.append("true positive")
    return outcomes


def _draw_scene(axes: Axes, outcomes: list[str]) -> None:
    axes.set_xlim(0, 200)
    axes.set_ylim(120, 0)
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])
    for x1, y1, x2, y2 in TRUTHS.tolist():
        axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ls="--", lw=1.5))
    for rank, (box, outcome) in enumerate(zip(DETECTIONS.tolist(), outcomes, strict=True), 1):
        x1, y1, x2, y2 = box
        colour = OUTCOME_STYLE[outcome]
        axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colour, lw=1.8))
        label = f"#{rank} {SCORES[rank - 1]:.2f}"
        top = outcome == "duplicate (FP)"  # its box nearly covers the first hit's: label above
        y, align = (y1 - 1, "bottom") if top else (y2 - 2, "bottom")
        axes.text(x1 + 1, y, label, color=colour, fontsize=8, va=align, weight="bold")
    axes.set_title("ground truth (dashed) and detections,\nranked by score", fontsize=9)
    for outcome, colour in OUTCOME_STYLE.items():
        axes.plot([], [], color=colour, lw=2, label=outcome)
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        handlelength=1.2,
        columnspacing=1.0,
        fontsize=8,
        frameon=False,
    )


def precision_recall_figure() -> Figure:
    """Lesson 3: six detections matched to three ground truths by the VOC rule (left), and the precision-recall curve they give, with its interpolated envelope, whose area is the AP (right)."""
    metrics = course.load("metrics", "solutions")
    outcomes = voc_outcomes(DETECTIONS, TRUTHS)
    hits = torch.tensor([outcome == "true positive" for outcome in outcomes], dtype=torch.float64)
    true_positives = hits.cumsum(0)
    recall = true_positives / len(TRUTHS)
    precision = true_positives / torch.arange(1, len(hits) + 1, dtype=torch.float64)
    ap = metrics.average_precision(recall, precision)
    envelope = precision.flip(0).cummax(0).values.flip(0)  # best precision at this recall or more

    figure = Figure(figsize=(7.6, 3.7))
    scene, curve = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    _draw_scene(scene, outcomes)
    steps_r = torch.cat([torch.zeros(1, dtype=torch.float64), recall]).tolist()
    steps_p = torch.cat([envelope[:1], envelope]).tolist()
    curve.fill_between(
        steps_r, steps_p, step="pre", alpha=0.2, color="#264653", label=f"AP = {ap:.3f}"
    )
    curve.step(steps_r, steps_p, where="pre", color="#264653", lw=1.8, label="envelope")
    curve.plot(
        recall.tolist(), precision.tolist(), "o:", color="#8d99ae", label="after each detection"
    )
    for rank, (r, p) in enumerate(zip(recall.tolist(), precision.tolist(), strict=True), 1):
        curve.annotate(f"#{rank}", (r, p), textcoords="offset points", xytext=(4, -10), fontsize=8)
    curve.set_xlim(0, 1.05)
    curve.set_ylim(0, 1.08)
    curve.set_xlabel("recall (TP / 3 ground truths)", fontsize=8)
    curve.set_ylabel("precision (TP / detections so far)", fontsize=8)
    curve.set_title("precision-recall,\nand its envelope", fontsize=9)
    curve.legend(loc="lower left", fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


FIGURES = {"metrics-precision-recall": precision_recall_figure}
