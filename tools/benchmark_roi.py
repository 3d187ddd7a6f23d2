"""RoI pooling against RoIAlign: the table and figure of ``tools/benchmark.py roi``'s JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.benchmark_format import source, spread

POOLS = {"roi_align": "RoIAlign (default)", "roi_pool": "RoI pooling"}
SIZES = ("small", "medium", "large")


def by_pool(roi: dict[str, Any]) -> dict[str, list[dict]]:
    return {pool: [row for row in roi["rows"] if row["pool"] == pool] for pool in POOLS}


def roi_figure(roi: dict[str, Any], path: Path) -> None:
    """Bars of mAP, AP per class and AP by size, per pool: mean over seeds, each seed a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pools = by_pool(roi)
    classes = list(pools["roi_align"][0]["ap"])
    groups = ["mAP@0.5", *classes, *(f"{size} objects" for size in SIZES)]

    def values(row: dict) -> list[float]:
        return [row["map"], *(row["ap"][name] for name in classes),
                *(row["ap_by_size"][size] for size in SIZES)]  # fmt: skip

    figure, axes = plt.subplots(figsize=(9, 4.2))
    width = 0.38
    for offset, (pool, label) in zip((-width / 2, width / 2), POOLS.items(), strict=True):
        per_seed = [values(row) for row in pools[pool]]
        means = [sum(column) / len(column) for column in zip(*per_seed, strict=True)]
        positions = [index + offset for index in range(len(groups))]
        axes.bar(positions, means, width, label=label, alpha=0.8)
        for seed_values in per_seed:
            axes.plot(positions, seed_values, "k.", markersize=4)
    axes.set_xticks(range(len(groups)), groups, rotation=20, fontsize=10)
    axes.set_ylabel("AP at IoU 0.5, test split", fontsize=11)
    axes.set_ylim(0, 1.15)
    axes.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    axes.legend(fontsize=10, loc="upper center", ncols=2)
    axes.set_title("RoI pooling vs RoIAlign: bars are means over seeds, dots the seeds")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def roi_md(roi: dict[str, Any], bench: Path) -> str:
    """The RoI pooling against RoIAlign section of ``compare-detector.md`` (and its figure)."""
    pools = by_pool(roi)
    classes = list(pools["roi_align"][0]["ap"])
    low, high = roi["size_edges_px"]
    measures = {"mAP@0.5": (lambda row: row["map"], 3)}
    measures |= {f"AP {name}": (lambda row, name=name: row["ap"][name], 2) for name in classes}
    size_names = (
        f"small (< {low:g} px)",
        f"medium ({low:g}-{high:g} px)",
        f"large (≥ {high:g} px)",
    )
    measures |= {f"AP {label}": (lambda row, size=size: row["ap_by_size"][size], 2)
                 for size, label in zip(SIZES, size_names, strict=True)}  # fmt: skip
    lines = ["| AP at IoU 0.5, test split | " + " | ".join(POOLS.values()) + " |", "|---|---|---|"]
    for measure, (value, digits) in measures.items():
        cells = [spread([value(row) for row in pools[pool]], digits) for pool in POOLS]
        lines.append(f"| {measure} | " + " | ".join(cells) + " |")
    counts = pools["roi_align"][0]["ap_by_size"]
    roi_figure(roi, bench / "roi.png")
    return (
        f"RoI pooling against RoIAlign, everything else the defaults ({source(roi)}); last "
        "epoch, mean ± sd over seeds (each seed in brackets). Object size is the square root of "
        f"the box's area in the 120x160 input: small below {low:g} px, large from {high:g} px "
        f"(about the terciles of the training boxes; the test split has {counts['small_count']} "
        f"small, {counts['medium_count']} medium and {counts['large_count']} large objects). AP "
        "by size scores the objects of that size, as COCO's area ranges do: the other objects "
        "are ignored (a detection matching one is neither right nor wrong) and a detection "
        "matching no object counts against the size of its own box.\n\n"
        + "\n".join(lines)
        + "\n\n[![Faster R-CNN (course), RoI pooling against RoIAlign: AP at IoU 0.5 on the "
        "test split, overall, per class and per object size; bars are the mean over seeds, dots "
        "the single seeds](bench/roi.png)](bench/roi.png)\n"
    )
