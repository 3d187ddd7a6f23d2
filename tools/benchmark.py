"""Reproduces the measured tables of the site, one command per table, and writes their JSON.

Not a test: it trains and times, and what it prints and writes depends on the machine. Each
command trains with the **defaults** of ``bam train detector`` / ``bam train yolo`` / ``bam
train sam`` (only the seed changes; ``--override KEY=VALUE`` is for trying recipes, and is
recorded) and writes ``docs/results/bench/<command>.json``; ``report`` turns those JSON files
into the Markdown the pages include (``compare-detector.md``, ``compare-yolo.md``, ``compare-timing.md``,
``compare-sam.md``)::

    OMP_NUM_THREADS=1 python tools/benchmark.py detector --seeds 0 1 2
    OMP_NUM_THREADS=1 python tools/benchmark.py yolo --seeds 0 1 2
    OMP_NUM_THREADS=1 python tools/benchmark.py sam --seeds 0 1 2
    OMP_NUM_THREADS=1 python tools/benchmark.py roi --seeds 0 1 2    # reuses detector's runs
    OMP_NUM_THREADS=1 python tools/benchmark.py timing --steps 8 --repeats 5  # interleaved
    OMP_NUM_THREADS=1 python tools/benchmark.py errors --seeds 0 1 2  # rescores detector, yolo
    python tools/benchmark.py report

The recipe tried for the detector and not adopted (``compare-detector-candidate.md``)::

    OMP_NUM_THREADS=1 python tools/benchmark.py detector --seeds 0 1 2 --override epochs=20 \
        --override learning_rate=0.002 --override 'schedule="cosine"' --name detector-candidate

Seeds may run in separate processes (``--seeds 0``, ``--seeds 1``, ... with their own
``--out``), and so may ``roi``'s two poolings (``--pools roi_align`` and ``--pools roi_pool``:
disjoint run folders); the command over all seeds then reuses the finished run folders, and
each row reports the conditions (start, end, load, commit, command) its run was trained under.

Training time is recorded twice per run: wall-clock seconds and the process's CPU seconds
(``time.process_time``) of the training steps (evaluation excluded). With one torch thread
the CPU time is what the run takes on an idle core; on a shared machine the wall time also
counts the time other jobs held the core, so budgets are stated in CPU time. The JSON records
the machine (CPU model, cores), torch's threads and version, the git commit, the command and
the load average before and after.

Run folders go under ``runs/bench/`` (reused when complete: ``roi`` reuses ``detector``'s
RoIAlign runs, ``timing`` the seed-0 runs of ``detector`` and ``yolo`` for inference).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "docs" / "results"
BENCH = RESULTS / "bench"
RUNS = ROOT / "runs" / "bench"
# object size buckets of AP by size: sqrt(box area) in px of the 120x160 inputs; about the
# terciles of the training split's 917 boxes (33%: 18.3 px, 66%: 28.0 px)
SIZE_EDGES = (18.0, 28.0)


# ----------------------------------------------------------------------------- provenance


def machine() -> dict[str, Any]:
    import torch

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        model = names[0] if names else model
    return {
        "cpu": model, "cores": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }  # fmt: skip


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "bam", "solutions", "data")
    return git("rev-parse", "--short", "HEAD") + ("+uncommitted" if dirty else "")


def provenance(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "command": "python tools/benchmark.py " + " ".join(sys.argv[1:]),
        "commit": commit(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "load_before": [round(value, 2) for value in os.getloadavg()],
        "overrides": args.override,
    }


def portable(value: Any) -> Any:
    """``value`` with this checkout's absolute path cut off its strings (the JSON is committed)."""
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [portable(item) for item in value]
    if isinstance(value, str):
        return value.replace(str(ROOT) + os.sep, "")
    return value


def write(name: str, payload: dict[str, Any], out: Path) -> Path:
    payload = portable(payload)
    payload["load_after"] = [round(value, 2) for value in os.getloadavg()]
    payload["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path


RUN_CONDITIONS = "bench-conditions.json"


def run_conditions() -> dict[str, Any]:
    """When, at which load and commit a run was trained (saved in its folder: a row that reuses
    a finished run reports the conditions it was trained under, not those of the reuse)."""
    return {
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_before": [round(value, 2) for value in os.getloadavg()],
        "commit": commit(),
        "command": "python tools/benchmark.py " + " ".join(sys.argv[1:]),
    }


def read_conditions(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / RUN_CONDITIONS
    return json.loads(path.read_text()) if path.is_file() else None


def parse_overrides(items: list[str]) -> dict[str, Any]:
    values = {}
    for item in items:
        key, _, text = item.partition("=")
        values[key] = json.loads(text)
    return values


# ----------------------------------------------------------------------------- detectors


def train_detector(model: str, seed: int, overrides: dict[str, Any], runs: Path) -> dict:
    """One run of ``bam train detector`` (or ``yolo``) with its defaults; reused if complete."""
    from bam.configs import TrainConfig
    from bam.pipelines.detector import train

    config = replace(TrainConfig.defaults_for(model), seed=seed, **overrides)
    tag = "-".join(f"{key}={value}" for key, value in sorted(overrides.items()))
    run_dir = runs / (f"{model}-seed-{seed}" + (f"-{tag}" if tag else "")).replace(" ", "")
    done = run_dir / "metrics.json"
    if not (done.is_file() and len(json.loads(done.read_text())) >= config.epochs):
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        conditions = run_conditions()
        train(config, run_dir=run_dir, log=lambda line: print(line, flush=True),
              show_progress=False)  # fmt: skip
        conditions["load_after"] = [round(value, 2) for value in os.getloadavg()]
        conditions["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        (run_dir / RUN_CONDITIONS).write_text(json.dumps(conditions, indent=1) + "\n")
    history = json.loads(done.read_text())
    last = history[-1]
    return {
        "seed": seed, "model": model, "run_dir": str(run_dir),
        "epochs": len(history), "map": last["map"], "ap": last["ap"],
        "train_seconds": sum(record["seconds"] for record in history),
        "train_cpu_seconds": sum(record.get("cpu_seconds", float("nan")) for record in history),
        "map_per_epoch": [round(record["map"], 4) for record in history],
        "config": json.loads((run_dir / "config.json").read_text()),
        "conditions": read_conditions(run_dir),
    }  # fmt: skip


def detector_rows(model: str, args: argparse.Namespace) -> dict[str, Any]:
    payload = provenance(args)
    overrides = parse_overrides(args.override)
    payload["rows"] = [train_detector(model, seed, overrides, args.runs) for seed in args.seeds]
    return payload


def sides(boxes: Any) -> Any:
    """``sqrt(area)`` of ``boxes`` (Tensor[N, 4], x1, y1, x2, y2), the size the buckets use."""
    return ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp(min=0).sqrt()


def size_bucket(
    detection: dict, truth: dict, low: float, high: float, iou_threshold: float = 0.5
) -> tuple[dict, dict]:
    """One image's detections and ground truth as scored for the objects of ``[low, high)``.

    COCO's area ranges, with VOC's ``difficult`` flag as COCO's ignore flag: every ground-truth
    box stays, those outside the range marked ``difficult`` (a detection matching one is neither
    a true nor a false positive, and it is not counted in recall); a detection matching no
    ground truth of its class (IoU below ``iou_threshold``) is kept only if its own size is in
    the range. Without this, a detection whose size falls just across a bucket edge from its
    object's would count as a miss in one bucket and a false positive in the other.
    """
    import torch
    from torchvision.ops import box_iou

    inside = (sides(truth["boxes"]) >= low) & (sides(truth["boxes"]) < high)
    difficult = truth.get("difficult", torch.zeros_like(inside)).bool() | ~inside
    truth = {**truth, "difficult": difficult}
    boxes = detection["boxes"]
    best = torch.zeros(len(boxes))
    if len(boxes) and len(truth["boxes"]):
        same = detection["labels"][:, None] == truth["labels"][None, :]
        best = (box_iou(boxes, truth["boxes"]) * same).amax(dim=1)
    own = (sides(boxes) >= low) & (sides(boxes) < high)
    kept = (best >= iou_threshold) | own
    detection = {key: value[kept] for key, value in detection.items()
                 if torch.is_tensor(value) and value.dim() and len(value) == len(boxes)}  # fmt: skip
    return detection, truth


def ap_by_size(run_dir: Path, edges: tuple[float, float] = SIZE_EDGES) -> dict[str, float]:
    """mAP@0.5 of a trained run on the test split, per object size (small, medium, large).

    Each bucket is scored by ``size_bucket`` (COCO's area ranges and ignore rule) with lesson
    3's ``mean_average_precision`` of the reference solutions.
    """
    import torch

    from bam.implementations import lesson_module
    from bam.pipelines.detector import load_split, load_trained, predict

    model, config = load_trained(run_dir, impl="solutions")
    collate = lesson_module("dataset", "solutions").collate_detection
    test_set = load_split(config, config.test_split, config.max_test_images)
    loader = torch.utils.data.DataLoader(test_set, batch_size=8, collate_fn=collate)
    detections, truths, _ = predict(model, loader, torch.device("cpu"))
    metrics = lesson_module("metrics", "solutions")
    bounds = {"small": (0.0, edges[0]), "medium": edges, "large": (edges[1], float("inf"))}
    scores = {}
    for name, (low, high) in bounds.items():
        pairs = [size_bucket(d, t, low, high) for d, t in zip(detections, truths, strict=True)]
        picked = metrics.mean_average_precision(
            [d for d, _ in pairs], [t for _, t in pairs], 0.5, num_classes=len(config.classes)
        )
        scores[name] = float(picked["map"])
        scores[f"{name}_count"] = sum(int((~t["difficult"]).sum()) for _, t in pairs)
    return scores


def roi_rows(args: argparse.Namespace) -> dict[str, Any]:
    """The ``roi`` table: per pool of ``args.pools`` and seed, a run scored with AP by size."""
    from bam.configs import TrainConfig

    payload = provenance(args)
    overrides = parse_overrides(args.override)
    default_pool = TrainConfig().pool
    rows = []
    for pool in args.pools:
        for seed in args.seeds:
            # the default pool with no overrides is the detector command's own run (its folder
            # is reused, not trained a second time under a "pool=..." name)
            default = pool == default_pool and not overrides
            setting = {} if default else {**overrides, "pool": pool}
            row = train_detector("faster_rcnn", seed, setting, args.runs)
            row["pool"] = pool
            rows.append(row)
    for row in rows:  # scored once every run is trained
        row["ap_by_size"] = ap_by_size(ROOT / row["run_dir"])
    payload["rows"] = rows
    payload["size_edges_px"] = list(SIZE_EDGES)
    return payload


# ----------------------------------------------------------------------------- SAM


def train_sam_run(seed: int, overrides: dict[str, Any], runs: Path, figures: bool) -> dict:
    """One run of ``bam train sam`` with its defaults and ``bam compare sam`` on it; reused if
    complete (the same folder name for the same seed and overrides)."""
    from bam.configs import RunConfig
    from bam.pipelines.sam import compare, train

    config = RunConfig(seed=seed, figures=figures, **overrides)
    tag = "-".join(f"{key}={value}" for key, value in sorted(overrides.items()))
    run_dir = runs / (f"sam-seed-{seed}" + (f"-{tag}" if tag else "")).replace(" ", "")
    done = run_dir / "metrics.json"
    if not (done.is_file() and len(json.loads(done.read_text())) >= config.epochs):
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        conditions = run_conditions()
        train(config, run_dir, log=lambda line: print(line, flush=True), progress=False)
        conditions["load_after"] = [round(value, 2) for value in os.getloadavg()]
        conditions["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        (run_dir / RUN_CONDITIONS).write_text(json.dumps(conditions, indent=1) + "\n")
    history = json.loads(done.read_text())
    scored = run_dir / "bench-compare.json"  # bam compare sam's rows, kept with the run
    if not scored.is_file():
        scored.write_text(json.dumps(compare(config, run_dir), indent=1) + "\n")
    return {
        "seed": seed, "run_dir": str(run_dir), "epochs": len(history),
        "dice": history[-1]["test_dice"], "iou": history[-1]["test_iou"],
        "train_seconds": sum(record["seconds"] for record in history),
        "train_cpu_seconds": sum(record["cpu_seconds"] for record in history),
        "dice_per_epoch": [round(record["test_dice"], 4) for record in history],
        "compare": json.loads(scored.read_text()),
        "config": json.loads((run_dir / "config.json").read_text()),
        "conditions": read_conditions(run_dir),
    }  # fmt: skip


def sam_rows(args: argparse.Namespace) -> dict[str, Any]:
    """``bam train sam`` with its defaults per seed, and ``bam compare sam``'s three rows."""
    payload = provenance(args)
    overrides = parse_overrides(args.override)
    payload["rows"] = [
        train_sam_run(seed, overrides, args.runs, figures=seed == args.seeds[0])
        for seed in args.seeds
    ]
    return payload


# ----------------------------------------------------------------------------- timing


def interleaved(
    tasks: dict[str, Callable[[], Any]],
    repeats: int,
    warmup: int = 1,
    clocks: tuple[Callable[[], float], Callable[[], float]] = (
        time.perf_counter,
        time.process_time,
    ),
) -> dict[str, dict[str, list[float]]]:
    """Times ``tasks`` in turn, A, B, A, B, ..., ``warmup`` untimed rounds then ``repeats`` timed.

    Interleaving spreads a shared machine's changing load over every task alike, so the ratio
    of their medians is fair where back-to-back blocks (A, A, A, B, B, B) are not.

    Returns:
        ``{name: {"wall": [seconds per timed round], "cpu": [...], "order": [round, ...]}}``,
        with ``clocks`` = (wall, CPU) clocks (injectable for tests).
    """
    if repeats < 1:
        raise ValueError(f"repeats should be at least 1, got {repeats}")
    wall_clock, cpu_clock = clocks
    samples = {name: {"wall": [], "cpu": [], "order": []} for name in tasks}
    for round_ in range(warmup + repeats):
        for name, task in tasks.items():
            wall, cpu = wall_clock(), cpu_clock()
            task()
            wall, cpu = wall_clock() - wall, cpu_clock() - cpu
            if round_ >= warmup:
                samples[name]["wall"].append(wall)
                samples[name]["cpu"].append(cpu)
                samples[name]["order"].append(round_ - warmup)
    return samples


def medians_and_ratios(
    samples: dict[str, dict[str, list[float]]], baseline: str, key: str = "cpu"
) -> dict[str, dict[str, float]]:
    """Per task: the median of ``samples[name][key]`` and its ratio to ``baseline``'s median."""
    if baseline not in samples:
        raise KeyError(f"baseline {baseline!r} is not one of the timed tasks {sorted(samples)}")
    medians = {name: statistics.median(values[key]) for name, values in samples.items()}
    if medians[baseline] <= 0:
        raise ValueError(f"baseline {baseline!r} has a median {key} time of {medians[baseline]}")
    return {
        name: {
            "median": median,
            "ratio": median / medians[baseline],
            "count": len(samples[name][key]),
        }
        for name, median in medians.items()
    }


def _models(args: argparse.Namespace) -> dict[str, Any]:
    """The three detectors with their default configs and the pretrained backbone."""
    import torch

    from bam.configs import TrainConfig
    from bam.pipelines.detector import (
        course_model,
        load_pretrained_backbone,
        resolve_backbone_weights,
    )
    from bam.pipelines.torchvision_twin import torchvision_twin

    models = {}
    for name in ("faster_rcnn", "yolo", "torchvision"):
        config = TrainConfig.defaults_for("yolo" if name == "yolo" else "faster_rcnn")
        config.backbone_weights = resolve_backbone_weights(config)
        torch.manual_seed(0)
        build = torchvision_twin if name == "torchvision" else course_model
        model = build(config, 4)
        load_pretrained_backbone(model, config)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        models[name] = (model, optimizer, config)
    return models


def _batches(config: Any, count: int) -> list[Any]:
    from bam.implementations import lesson_module
    from bam.pipelines.detector import load_split

    collate = lesson_module("dataset", "solutions").collate_detection
    train_set = load_split(config, config.train_split, None)
    size = config.batch_size
    return [collate([train_set[i] for i in range(k * size, (k + 1) * size)]) for k in range(count)]


def timing_rows(args: argparse.Namespace) -> dict[str, Any]:
    """Training seconds per step and inference images/s, the models interleaved A, B, C, A, ...

    Training: the three models start from the same pretrained backbone and train on the same
    ``steps`` batches of 4 training images per round, one round per model in turn
    (``interleaved``: a warm-up round, then ``repeats`` rounds); per model, the median over
    rounds of CPU and wall seconds per step, and the ratio of CPU medians to ours. Inference: the
    trained seed-0 runs of ``detector`` and ``yolo`` when present (else the models as they are
    after the training rounds) and torchvision's twin after its training rounds, on the first
    16 test images, in batches of 1 and 8, interleaved, median of ``repeats`` passes.
    """
    import torch

    from bam.pipelines.detector import load_split, load_trained

    payload = provenance(args)
    models = _models(args)
    batches = _batches(models["faster_rcnn"][2], args.steps)

    def training(model: Any, optimizer: Any) -> Callable[[], None]:
        def run_steps() -> None:
            model.train()
            torch.manual_seed(0)
            for images, targets in batches:
                losses = model(list(images), targets)  # every model takes a list of images
                optimizer.zero_grad(set_to_none=True)
                sum(losses.values()).backward()
                optimizer.step()

        return run_steps

    tasks = {name: training(model, optimizer) for name, (model, optimizer, _) in models.items()}
    samples = interleaved(tasks, args.repeats)  # A, B, C, A, B, C, ... after a warm-up round
    ratios = medians_and_ratios(samples, "faster_rcnn")
    cpu = {name: [t / len(batches) for t in values["cpu"]] for name, values in samples.items()}
    wall = {name: [t / len(batches) for t in values["wall"]] for name, values in samples.items()}
    inference = {name: model for name, (model, _, _) in models.items()}
    trained_runs = {}
    for name in ("faster_rcnn", "yolo"):
        trained = args.runs / f"{name}-seed-0" / "checkpoint.pt"
        if trained.is_file():
            inference[name] = load_trained(trained.parent, impl="solutions")[0]
            trained_runs[name] = str(trained.parent)
    test_set = load_split(models["faster_rcnn"][2], "test", 16)
    images = [test_set[i][0] for i in range(len(test_set))]
    payload["rows"] = _inference_rows(inference, images, args.repeats, cpu, wall)
    for row in payload["rows"]:
        row["train_cpu_ratio_to_faster_rcnn"] = ratios[row["model"]]["ratio"]
        # an untrained detector's inference (its post-processing of many weak boxes) is not
        # the trained one's: its images/s are kept but not reported
        row["inference_of"] = trained_runs.get(row["model"], "untrained")
    payload.update(steps=args.steps, repeats=args.repeats, batch_size=4, design="interleaved")
    return payload


def _inference_rows(
    models: dict[str, Any], images: list, repeats: int, cpu: dict, wall: dict
) -> list[dict]:
    from bam.pipelines.detector_comparison import images_per_second

    for model in models.values():
        model.eval()
    speed = {size: images_per_second(models, images, size, repeats) for size in (1, 8)}
    return [
        {
            "model": name,
            "train_cpu_seconds_per_step": statistics.median(cpu[name]),
            "train_wall_seconds_per_step": statistics.median(wall[name]),
            "train_cpu_seconds_per_step_all": cpu[name],
            "images_per_second_batch_1": speed[1][name],
            "images_per_second_batch_8": speed[8][name],
        }
        for name in models
    ]


def error_rows(args: argparse.Namespace) -> dict[str, Any]:
    """The ``errors`` table: the trained ``detector`` and ``yolo`` runs rescored (no training
    when their folders are finished), and the data's objects that share a YOLO slot."""
    from bam.configs import TrainConfig
    from tools.benchmark_errors import first_stage_only, rescored, slot_sharing

    payload = provenance(args)
    payload["rows"] = []
    for model in ("faster_rcnn", "yolo"):
        for seed in args.seeds:
            run_dir = train_detector(model, seed, {}, args.runs)["run_dir"]
            row = {"model": model, "seed": seed, "run_dir": run_dir, **rescored(ROOT / run_dir)}
            if model == "faster_rcnn":  # the ablation: its RPN alone
                row |= first_stage_only(ROOT / run_dir)
            payload["rows"].append(row)
    config = TrainConfig.defaults_for("yolo")
    payload["slots"] = {split: slot_sharing(config, split) for split in ("train", "test")}
    return payload


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "what", choices=("detector", "yolo", "sam", "roi", "timing", "errors", "report")
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--override", action="append", default=[], metavar="KEY=JSON",
                        help="a setting other than the default (recorded in the JSON)")  # fmt: skip
    parser.add_argument("--pools", nargs="+", default=["roi_align", "roi_pool"],
                        choices=("roi_align", "roi_pool"),
                        help="roi: the poolings trained (a process per pool may run at once)")  # fmt: skip
    parser.add_argument("--runs", type=Path, default=RUNS, help="run folders (reused)")
    parser.add_argument("--out", type=Path, default=BENCH, help="where the JSON goes")
    parser.add_argument("--name", help="the JSON's file name without .json (default: WHAT)")
    parser.add_argument("--steps", type=int, default=8, help="timing: training steps per round")
    parser.add_argument("--repeats", type=int, default=5, help="timing: rounds per model")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.what == "report":
        from tools.benchmark_report import report

        report(args.out, RESULTS)
        return 0
    makers = {
        "detector": lambda: detector_rows("faster_rcnn", args),
        "yolo": lambda: detector_rows("yolo", args),
        "sam": lambda: sam_rows(args),
        "roi": lambda: roi_rows(args),
        "timing": lambda: timing_rows(args),
        "errors": lambda: error_rows(args),
    }
    write(args.name or args.what, makers[args.what](), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
