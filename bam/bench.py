"""Speed of the course's box operations against torchvision's, measured in the same run.

Each case times one exercise (from ``solutions`` or ``lessons``) and the torchvision operation
that does the same job, on the same inputs, alternating the two so that a busy machine slows
both alike, and reports the medians and their ratio. Speed is a benchmark, never a test: the
numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import Tensor


@dataclass
class Case:
    """One operation to time: our exercise and torchvision's equivalent on shared inputs."""

    name: str
    inputs: str  # a few words describing them
    lesson: str
    exercise: str
    ours: Callable[[Callable, dict], Callable[[], object]]  # (exercise, data) -> call
    baseline: Callable[[dict], Callable[[], object]]  # data -> call
    make_data: Callable[[], dict]


@dataclass
class Result:
    """Median times in milliseconds; ``ours_ms`` is None when the exercise is not implemented."""

    name: str
    inputs: str
    baseline_ms: float
    ours_ms: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.ours_ms is None else self.ours_ms / self.baseline_ms


def _random_boxes(count: int, generator: torch.Generator, size: float = 600.0) -> Tensor:
    corner = torch.rand(count, 2, generator=generator) * size
    sides = torch.rand(count, 2, generator=generator) * 200 + 8
    return torch.cat([corner, corner + sides], dim=1)  # [count, 4]


def _clustered_boxes(count: int, generator: torch.Generator) -> Tensor:
    """Proposal-like boxes: jittered copies of 40 objects, as an RPN produces before NMS."""
    objects = _random_boxes(40, generator)
    picks = torch.randint(0, 40, (count,), generator=generator)
    jitter = torch.randn(count, 4, generator=generator) * 8
    boxes = objects[picks] + jitter
    return torch.cat([boxes[:, :2], torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)], dim=1)


def _feature_map_and_rois() -> dict:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(1, 512, 38, 50, generator=generator)
    boxes = _random_boxes(300, generator, size=500.0)
    rois = torch.cat([torch.zeros(300, 1), boxes], dim=1)  # [300, 5], image 0
    return {"features": features, "rois": rois}


def _box_pairs() -> dict:
    generator = torch.Generator().manual_seed(0)
    return {"a": _random_boxes(2000, generator), "b": _random_boxes(2000, generator)}


def _decode_data() -> dict:
    generator = torch.Generator().manual_seed(0)
    return {
        "deltas": torch.randn(20000, 4, generator=generator) * 0.5,
        "anchors": _random_boxes(20000, generator),
    }


def _nms_data(clustered: bool) -> Callable[[], dict]:
    def make() -> dict:
        generator = torch.Generator().manual_seed(0)
        boxes = _clustered_boxes(2000, generator) if clustered else _random_boxes(2000, generator)
        return {"boxes": boxes, "scores": torch.rand(2000, generator=generator)}

    return make


def _torchvision_anchors(data: dict) -> Callable[[], object]:
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    generator = AnchorGenerator(((128, 256, 512),), ((0.5, 1.0, 2.0),))
    images = ImageList(torch.zeros(1, 3, 608, 800), [(608, 800)])
    feature_map = [torch.zeros(1, 1, 38, 50)]
    return lambda: generator(images, feature_map)


def _box_coder(data: dict) -> Callable[[], object]:
    from torchvision.models.detection._utils import BoxCoder

    coder = BoxCoder((1.0, 1.0, 1.0, 1.0))
    return lambda: coder.decode_single(data["deltas"], data["anchors"])


CASES: list[Case] = [
    Case(
        "box_iou", "2000 x 2000 boxes", "metrics", "box_iou",
        lambda f, d: lambda: f(d["a"], d["b"]),
        lambda d: lambda: torchvision.ops.box_iou(d["a"], d["b"]),
        _box_pairs,
    ),
    Case(
        "generate_anchors", "50 x 38 map, 9 anchors", "rpn", "generate_anchors",
        lambda f, d: lambda: f((38, 50), 16),
        _torchvision_anchors,
        dict,
    ),
    Case(
        "decode_boxes", "20k deltas", "rpn", "decode_boxes",
        lambda f, d: lambda: f(d["deltas"], d["anchors"]),
        _box_coder,
        _decode_data,
    ),
    Case(
        "nms (clustered)", "2000 proposal-like boxes", "rpn", "nms",
        lambda f, d: lambda: f(d["boxes"], d["scores"], 0.7),
        lambda d: lambda: torchvision.ops.nms(d["boxes"], d["scores"], 0.7),
        _nms_data(clustered=True),
    ),
    Case(
        "nms (scattered)", "2000 random boxes", "rpn", "nms",
        lambda f, d: lambda: f(d["boxes"], d["scores"], 0.7),
        lambda d: lambda: torchvision.ops.nms(d["boxes"], d["scores"], 0.7),
        _nms_data(clustered=False),
    ),
    Case(
        "roi_pool", "300 RoIs, [1, 512, 38, 50]", "roi", "roi_pool",
        lambda f, d: lambda: f(d["features"], d["rois"], (7, 7), 1 / 16),
        lambda d: lambda: torchvision.ops.roi_pool(d["features"], d["rois"], (7, 7), 1 / 16),
        _feature_map_and_rois,
    ),
    Case(
        "roi_align", "300 RoIs, [1, 512, 38, 50]", "roi", "roi_align",
        lambda f, d: lambda: f(d["features"], d["rois"], (7, 7), 1 / 16, 2, True),
        lambda d: lambda: torchvision.ops.roi_align(d["features"], d["rois"], (7, 7), 1 / 16, 2, True),
        _feature_map_and_rois,
    ),
]  # fmt: skip


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run_case(
    case: Case, package: str = "solutions", repeat: int = 7, budget: float | None = None
) -> Result:
    """Times one case: a warm-up each, then ``repeat`` alternating runs; medians in ms.

    A first call of ours slower than ``budget`` seconds is reported as it is, without repeats
    (a Python loop over boxes can take minutes: ``bam bench`` must not go quiet for that long).
    """
    data = case.make_data()
    baseline = case.baseline(data)
    try:
        exercise = getattr(importlib.import_module(f"{package}.{case.lesson}"), case.exercise)
    except (ImportError, AttributeError) as error:
        return Result(case.name, case.inputs, 1000 * _seconds(baseline), None, f"missing: {error}")
    ours = case.ours(exercise, data)
    with torch.no_grad():
        try:
            first = _seconds(ours)
        except NotImplementedError:
            return Result(
                case.name, case.inputs, 1000 * _seconds(baseline), None, "not implemented yet"
            )
        baseline()
        if budget is not None and first > budget:
            baseline_ms = 1000 * statistics.median(_seconds(baseline) for _ in range(3))
            note = f"one call took {first:.1f} s: no repeats (a Python loop?)"
            return Result(case.name, case.inputs, baseline_ms, 1000 * first, note)
        our_times, baseline_times = [], []
        for _ in range(repeat):
            baseline_times.append(_seconds(baseline))
            our_times.append(_seconds(ours))
    return Result(
        case.name,
        case.inputs,
        1000 * statistics.median(baseline_times),
        1000 * statistics.median(our_times),
    )


def select(names: list[str] | None = None) -> list[Case]:
    """The cases whose name starts with one of ``names`` (all by default)."""
    chosen = [
        case for case in CASES if not names or any(case.name.startswith(name) for name in names)
    ]
    if names and not chosen:
        raise ValueError(f"no benchmark named {names}; known: {[case.name for case in CASES]}")
    return chosen


def run(
    package: str = "solutions",
    repeat: int = 7,
    names: list[str] | None = None,
    budget: float | None = None,
) -> list[Result]:
    """Runs the cases whose name starts with one of ``names`` (all by default)."""
    return [run_case(case, package, repeat, budget) for case in select(names)]


def table_header(package: str) -> str:
    header = f"{'operation':<18} {'inputs':<28} {'torchvision ms':>14} {package + ' ms':>14} {'ratio':>7}"
    return header + "\n" + "-" * len(header)


def format_row(result: Result) -> str:
    ours = f"{result.ours_ms:14.2f}" if result.ours_ms is not None else f"{'-':>14}"
    ratio = f"{result.ratio:6.2f}x" if result.ratio is not None else f"{'-':>7}"
    line = f"{result.name:<18} {result.inputs:<28} {result.baseline_ms:14.2f} {ours} {ratio}"
    return line + (f"  ({result.note})" if result.note else "")


def table_footer() -> str:
    return f"(median of repeats, alternating runs; torch threads: {torch.get_num_threads()})"


def format_table(results: list[Result], package: str) -> str:
    """The results as a text table: times in ms, ratio = ours / torchvision."""
    lines = [table_header(package), *map(format_row, results), table_footer()]
    return "\n".join(lines)
