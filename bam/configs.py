"""Every pipeline's settings, in one torch-free module: what ``bam ... --help`` shows.

Each is a dataclass whose fields are the run's settings, their defaults and (in the string under
a field) the help of its command-line option (``bam.options`` builds the options from
them). Nothing here imports torch, so ``bam --help`` and ``bam train detector --help`` answer at
once; the pipelines (``bam.pipelines.detector``, ``bam.pipelines.sam``, ``bam.pipelines.sam_pretraining``,
``bam.pipelines.backbone_pretraining``) take these configs.

* ``TrainConfig``: ``bam train detector`` / ``bam train yolo`` (saved as a run's ``config.json``);
* ``RunConfig``: ``bam train sam`` (saved as a run's ``config.json``);
* ``SamPretrainConfig``: ``bam pretrain sam``;
* ``BackbonePretrainConfig``: ``bam pretrain backbone``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

BUNDLED_DATA = Path(__file__).resolve().parent.parent / "data"
"""The course's bundled data sets and pretrained weights (``data/``)."""
WATER_ROOT = BUNDLED_DATA / "water"
SHAPES_ROOT = BUNDLED_DATA / "shapes"
PRETRAINED_TINY_SAM = BUNDLED_DATA / "sam-tiny-pretrained"
PRETRAINED_BACKBONE = BUNDLED_DATA / "vgg-tiny-pretrained"
RUNS_ROOT = Path("runs")
"""Where a run's folder goes unless told (relative to the working directory)."""


@dataclass
class TrainConfig:
    """Settings of one training run (saved as ``config.json``).

    The defaults train on a 2-core CPU in minutes: VGG16 at an eighth of its width, started from
    the course's pretrained backbone (``data/vgg-tiny-pretrained``, made by ``bam pretrain
    backbone``), images at half the shapes set's size (120x160), anchors scaled to the objects
    (16-64 px there). ``backbone_weights`` is a folder written by ``bam pretrain backbone``,
    ``"none"`` (train from scratch) or ``"auto"`` (the bundled weights when their width is the
    run's, else none); a run's ``config.json`` records the folder or ``"none"``.
    """

    data: str = str(SHAPES_ROOT)
    """a Pascal VOC folder (default: data/shapes)"""
    train_split: str = "train"
    test_split: str = "test"
    image_size: tuple[int, int] = (120, 160)
    """resize images to H W"""
    epochs: int = 24  # measured: mAP@0.5 0.962 ± 0.005, 3 seeds (results/compare-detector.md)
    """epochs"""
    batch_size: int = 4
    """images per step and process"""
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = 1e-3
    """(peak) learning rate"""
    weight_decay: float = 1e-4
    # cosine at 2e-3 for 20 epochs was tried on 3 seeds with the earlier backbone: 0.908 mean,
    # against this recipe's 0.911 there (results/bench/earlier-backbone/)
    schedule: Literal["step", "cosine"] = "step"
    """learning rate over the run: a linear warm-up then a cosine to 0 (cosine), or constant
    with a 10x drop at lr_drop of the run (step)"""
    warmup: float = 0.05
    """share of the run's steps spent warming up (cosine schedule)"""
    lr_drop: float = 0.75
    hflip: bool = True
    seed: int = 0
    impl: str = "solutions"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    width: float = 0.125
    """VGG16 channel multiplier"""
    hidden: int = 256
    """width of the head's FC layers"""
    backbone_weights: str = "auto"
    """pretrained VGG16 backbone folder (bam pretrain backbone), or none to train from scratch
    (default: data/vgg-tiny-pretrained when it matches --width, else none)"""
    anchor_sizes: tuple[float, ...] = (16, 32, 64)
    anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    # RoIAlign: objects here are 1-4 cells of the 7x10 feature map, and roi_pool's rounding to
    # whole cells loses them (measured, these defaults, 3 seeds: mAP@0.5 0.962 against 0.704, and
    # AP on objects under 18 px 0.94 against 0.33: tools/benchmark.py roi, results/compare-detector.md)
    pool: Literal["roi_pool", "roi_align"] = "roi_align"
    rpn_batch_size: int = 256
    roi_batch_size: int = 128
    max_train_images: int | None = None
    """train on the first N images only"""
    max_test_images: int | None = None
    """evaluate on the first N images only"""
    classes: tuple[str, ...] = field(default_factory=tuple)
    model: str = "faster_rcnn"  # or "yolo" (lesson 10, bam train yolo)
    yolo_anchors: tuple[float, ...] = (16, 16, 32, 32, 56, 48)
    """YOLO's anchor shapes, w h w h ... in pixels of the resized image (YOLO only)"""
    lambda_coord: float = 5.0
    """weight of YOLO's box loss (YOLO only)"""
    lambda_noobj: float = 0.5
    """weight of YOLO's no-object loss (YOLO only)"""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def defaults_for(cls, model: str) -> TrainConfig:
        """``bam train detector``'s defaults for ``model``: these fields', YOLO with its own
        recipe (``YOLO_RECIPE``)."""
        return cls(model=model, **(YOLO_RECIPE if model == "yolo" else {}))

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TrainConfig:
        values = dict(values)
        if "lr" in values:  # run folders made before the rename (and the bundled docs/results)
            values["learning_rate"] = values.pop("lr")
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config.json has unknown settings {unknown}")
        tuples = {"image_size", "anchor_sizes", "anchor_ratios", "classes", "yolo_anchors"}
        return cls(
            **{key: tuple(value) if key in tuples else value for key, value in values.items()}
        )

    def model_options(self) -> dict[str, Any]:
        """Keyword arguments shared by our ``FasterRCNN`` and the torchvision twin."""
        return {
            "width": self.width,
            "hidden": self.hidden,
            "anchor_sizes": self.anchor_sizes,
            "anchor_ratios": self.anchor_ratios,
            "pool": self.pool,
            "rpn_batch_size": self.rpn_batch_size,
            "roi_batch_size": self.roi_batch_size,
        }


YOLO_RECIPE: Mapping[str, Any] = MappingProxyType(
    {"epochs": 60, "learning_rate": 2e-3, "schedule": "cosine"}
)
"""``bam train yolo``'s own settings where they differ from Faster R-CNN's: a YOLO step costs
about half a Faster R-CNN step, so at about equal training time it takes 60 epochs; the cosine
at 2e-3 was the best of four schedules tried on seed 0 (results/bench/yolo-tuning/). Measured
on 3 seeds: results/compare-yolo.md (``tools/benchmark.py yolo``)."""


@dataclass
class RunConfig:
    """Settings of a fine-tuning run (saved as ``config.json``)."""

    data: str = str(WATER_ROOT)  # Images/ + Masks/, or a VOC folder with SegmentationObject/
    checkpoint: str = str(PRETRAINED_TINY_SAM)
    epochs: int = 30  # about 1.9 min of CPU time on one thread (docs/results/compare-sam.md)
    batch_size: int = 8
    learning_rate: float = 3e-3
    """Adam's (peak) learning rate"""
    schedule: Literal["cosine", "constant"] = "cosine"
    """learning rate over the run: cosine decay (to 5% of the learning rate by the end) or
    constant"""
    jitter: int = 5
    """box jitter in training, px"""
    size: int = 256
    test_ratio: float = 0.1  # water layout only (a VOC folder has its own splits)
    train_split: str = "train"  # VOC layout: ImageSets/Segmentation/<train_split>.txt
    test_split: str = "test"  # VOC layout: the split evaluated after every epoch
    seed: int = 0
    """split, shuffling, jitter, augmentation"""
    impl: str = "solutions"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    augment: bool = True
    """lesson 2's augmentation in training"""
    limit: int | None = None
    """use only the first N images (a quick try; VOC: of each split)"""
    checkpoint_every: int = 10
    figures: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.test_ratio < 1:
            raise ValueError(f"test_ratio must be in (0, 1), got {self.test_ratio}")
        if self.jitter < 0:
            raise ValueError(f"jitter must be >= 0, got {self.jitter}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")


@dataclass(frozen=True)
class SamPretrainConfig:
    """The settings of ``bam.pipelines.sam_pretraining.pretrain`` (its defaults, ``bam pretrain sam``'s options)."""

    steps: int = 800
    """optimiser steps"""
    batch_size: int = 6
    """images per step, 3 prompts each"""
    learning_rate: float = 1e-3
    """peak learning rate"""
    seed: int = 0
    """seed of weights and images"""
    max_minutes: float | None = None
    """stop after this many minutes"""
    init: str | None = None
    """continue from this saved model (a second stage)"""


@dataclass(frozen=True)
class BackbonePretrainConfig:
    """The settings of ``bam.pipelines.backbone_pretraining.pretrain`` (its defaults, ``bam pretrain backbone``'s options)."""

    width: float = 0.125
    """VGG16 channel multiplier"""
    steps: int = 2000
    """optimiser steps"""
    batch_size: int = 12
    """images per step"""
    image_size: tuple[int, int] = (120, 160)
    """the synthetic images' H W"""
    learning_rate: float = 1e-3
    """peak learning rate"""
    seed: int = 0
    """seed of weights and images"""
    max_minutes: float | None = None
    """stop after this many minutes"""
    impl: str = "solutions"
