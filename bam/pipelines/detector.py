"""Training, evaluation and prediction for the course's Faster R-CNN (``bam train detector``).

A recipe of the one training loop (``bam.train.fit``): batches of the training split, flipped
with lesson 2's ``hflip``, the model's four losses summed, one Adam step; the learning rate drops
10x at ``lr_drop`` of the run (``schedule="cosine"``: a warm-up over the first 5% of the steps,
then a cosine to 0); after every epoch, mAP@0.5 on the test split (lesson 3's
``mean_average_precision``) and a checkpoint. A run folder holds everything::

    runs/detector-YYYYmmdd-HHMMSS/
        config.json            the settings (resume and eval read them back)
        checkpoint.pt          model, optimiser, schedule and loop state after the last epoch
        metrics.json           every epoch's record
        metrics/epoch_001.json losses (per step and mean), mAP, AP per class, seconds
        loss_curves.png        losses and mAP per epoch
        detections.png         test images with detections (solid) and ground truth (dashed)

Resuming (``--resume RUN_DIR``) restarts after the last finished epoch. Batch ``i`` of epoch
``e`` is a function of ``(seed, e, i, rank)`` alone — the epoch's order, the flips and the
samplers inside the model — so an interrupted and resumed run ends with the same weights as an
uninterrupted one.

Under ``torchrun --nproc_per_node=N`` each process trains on its share of every epoch and
gradients are averaged (``DistributedDataParallel``; gloo on CPU, NCCL on GPUs); process 0
evaluates, writes files and shows progress.

``model_factory`` lets ``bam compare detector`` train torchvision's ``FasterRCNN`` with the very
same loop, data, optimiser and schedule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from bam import course
from bam.configs import RUNS_ROOT, TrainConfig
from bam.data.datasets import DetectionFolder
from bam.implementations import lesson_module
from bam.train import (
    Distributed,
    Recipe,
    fit,
    load_checkpoint,
    new_run_dir,
    pick_device,
    start_distributed,
    write_json,
)
from bam.train.loop import CHECKPOINT, step_seed
from bam.train.schedules import step_drop, warmup_cosine

__all__ = [
    "CHECKPOINT", "TrainConfig", "load_checkpoint", "pick_device", "predict", "train",
]  # fmt: skip

# the exercises a training run calls, lesson by lesson (roi_align only with --pool roi_align)
REQUIRED_EXERCISES: dict[str, tuple[str, ...]] = {
    "dataset": ("resize_boxes", "collate_detection"),
    "metrics": ("box_iou", "average_precision", "mean_average_precision"),
    "vgg": ("vgg16_backbone",),
    "rpn": (
        "generate_anchors", "encode_boxes", "decode_boxes", "assign_anchors", "sample_labels",
        "RPNHead", "nms", "propose", "rpn_loss",
    ),
    "roi": ("roi_pool",),
    "head": ("sample_proposals", "FastRCNNHead", "fast_rcnn_loss", "postprocess_detections"),
    "detector": ("FasterRCNN",),
}  # fmt: skip

# lesson 10's YOLO: no RPN, no RoI pooling, no Fast R-CNN head; lesson 6's nms
YOLO_EXERCISES: dict[str, tuple[str, ...]] = {
    "dataset": ("resize_boxes", "collate_detection"),
    "metrics": ("box_iou", "average_precision", "mean_average_precision"),
    "vgg": ("vgg16_backbone",),
    "rpn": ("nms",),
    "yolo": ("grid_targets", "yolo_loss", "decode_grid", "yolo_postprocess", "YOLO"),
}


ModelFactory = Callable[[TrainConfig, int], nn.Module]


# ----------------------------------------------------------------------------- exercises


def needed_exercises(
    pool: str = "roi_pool", hflip: bool = False, model: str = "faster_rcnn"
) -> dict[str, tuple[str, ...]]:
    """The exercises a run calls: ``roi_align`` only with that pool, ``hflip`` only with flips."""
    needed = dict(YOLO_EXERCISES if model == "yolo" else REQUIRED_EXERCISES)
    if hflip:
        needed = {"augment": ("hflip",), **needed}
    if pool == "roi_align" and "roi" in needed:
        needed["roi"] = (*needed["roi"], "roi_align")
    return needed


def unfinished_exercises(
    impl: str, pool: str = "roi_pool", hflip: bool = False, model: str = "faster_rcnn"
) -> list[str]:
    """The exercises that a training run needs and that are still stubs in ``impl``."""
    return course.unfinished(impl, needed_exercises(pool, hflip, model))


def require_finished(
    impl: str, pool: str = "roi_pool", hflip: bool = False, model: str = "faster_rcnn"
) -> None:
    """Raises ``UnfinishedExercises`` naming every stub a run would hit."""
    course.require_finished(
        impl, needed_exercises(pool, hflip, model), f"training the {model.replace('_', ' ')}"
    )


# ----------------------------------------------------------------------------- set-up


def load_split(
    config: TrainConfig, split: str, limit: int | None
) -> DetectionFolder | torch.utils.data.Subset:
    dataset = DetectionFolder(
        config.data, split, size=config.image_size, classes=config.classes or None,
        impl=config.impl, masks=False,  # boxes only: hflip_batch and the models ignore masks
    )  # fmt: skip
    if limit is not None and limit < len(dataset):
        return torch.utils.data.Subset(dataset, range(limit))
    return dataset


def course_model(config: TrainConfig, num_classes: int) -> nn.Module:
    """The course's ``FasterRCNN`` (or lesson 10's ``YOLO``) from ``config.impl``."""
    if config.model == "yolo":
        yolo = lesson_module("yolo", config.impl)
        anchors = config.yolo_anchors
        if len(anchors) % 2 or not anchors:
            raise ValueError(f"yolo_anchors should be w h pairs, got {anchors}")
        return yolo.YOLO(
            num_classes, width=config.width, hidden=config.hidden,
            anchors=tuple(zip(anchors[::2], anchors[1::2], strict=True)),
            lambda_coord=config.lambda_coord, lambda_noobj=config.lambda_noobj,
        )  # fmt: skip
    if config.model != "faster_rcnn":
        raise ValueError(f"model should be faster_rcnn or yolo, got {config.model!r}")
    detector = lesson_module("detector", config.impl)
    return detector.FasterRCNN(num_classes, **config.model_options())


def resolve_backbone_weights(config: TrainConfig) -> str:
    """The pretrained backbone folder a new run loads, or ``"none"``.

    ``"auto"`` picks the bundled ``data/vgg-tiny-pretrained`` when it exists and was made for
    ``config.width``; an explicit folder must exist (the shapes are checked when loading).
    """
    from bam.configs import PRETRAINED_BACKBONE
    from bam.pipelines.backbone_pretraining import CONFIG_FILE

    choice = config.backbone_weights
    if choice.lower() == "none":
        return "none"
    if choice == "auto":
        saved = PRETRAINED_BACKBONE / CONFIG_FILE
        if not saved.is_file():
            return "none"
        width = json.loads(saved.read_text(encoding="utf-8")).get("width")
        return str(PRETRAINED_BACKBONE) if width == config.width else "none"
    if not Path(choice).is_dir():
        raise FileNotFoundError(
            f"--backbone-weights {choice}: no such folder (a folder written by bam pretrain"
            " backbone, or 'none')"
        )
    return choice


def load_pretrained_backbone(model: nn.Module, config: TrainConfig) -> None:
    """Loads ``config.backbone_weights`` (a folder, or ``"none"``) into ``model.backbone``."""
    if config.backbone_weights == "none":
        return
    from bam.pipelines.backbone_pretraining import load_backbone_weights

    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, nn.Module):
        raise ValueError(
            f"{type(model).__name__} has no .backbone module to load {config.backbone_weights}"
            " into (use --backbone-weights none)"
        )
    load_backbone_weights(backbone, config.backbone_weights, config.width)


def _to_device(targets: list[dict[str, Tensor]], device: torch.device) -> list[dict[str, Tensor]]:
    return [{key: value.to(device) for key, value in target.items()} for target in targets]


def hflip_batch(
    images: Tensor,
    targets: list[dict[str, Tensor]],
    flip: Tensor,
    hflip: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor, Tensor]],
) -> tuple[Tensor, list]:
    """Mirrors the images where ``flip`` is True, with lesson 2's ``hflip`` (boxes ``x' = W - x``)."""
    flipped_images, flipped_targets = [], []
    for image, target, mirror in zip(images, targets, flip.tolist(), strict=True):
        if mirror:
            blank = torch.zeros(image.shape[-2:], dtype=torch.bool, device=image.device)
            image, _, boxes = hflip(image, blank, target["boxes"])
            target = {**target, "boxes": boxes}
        flipped_images.append(image)
        flipped_targets.append(target)
    return torch.stack(flipped_images), flipped_targets


def epoch_order(config: TrainConfig, epoch: int, size: int, world: Distributed) -> Tensor:
    """This process's image positions of ``epoch``, in batch order (whole batches only).

    One permutation per epoch, seeded by ``(seed, epoch)``, shared out among the processes
    like ``DistributedSampler``: process ``r`` takes positions ``r, r + N, ...``.
    """
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch * 1_009)
    order = torch.randperm(size, generator=generator)  # [size]
    per_step = world.world_size * config.batch_size
    return order[: size // per_step * per_step][world.rank :: world.world_size]


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def predict(
    model: nn.Module, loader: Any, device: torch.device
) -> tuple[list[dict], list[dict], list[Tensor]]:
    """Detections, ground truths and images of every batch of ``loader`` (model in eval mode)."""
    was_training = model.training
    model.eval()
    detections, truths, images_seen = [], [], []
    for images, targets in loader:
        outputs = model(images.to(device))
        detections += [{key: value.cpu() for key, value in output.items()} for output in outputs]
        truths += targets
        images_seen += list(images)
    model.train(was_training)
    return detections, truths, images_seen


def score_detections(
    detections: list[dict], truths: list[dict], config: TrainConfig, num_classes: int
) -> dict:
    """mAP@0.5 and AP per class (lesson 3's ``mean_average_precision`` from ``config.impl``)."""
    metrics = lesson_module("metrics", config.impl)
    result = metrics.mean_average_precision(detections, truths, 0.5, num_classes=num_classes - 1)
    return {
        "map": float(result["map"]),
        "ap": {int(key): float(value) for key, value in result["ap"].items()},
    }


def evaluate(
    model: nn.Module, loader: Any, device: torch.device, config: TrainConfig, num_classes: int
) -> dict:
    """mAP@0.5 and AP per class of ``model`` on ``loader``'s images."""
    detections, truths, _ = predict(model, loader, device)
    return score_detections(detections, truths, config, num_classes)


# ----------------------------------------------------------------------------- files


def read_config(run_dir: Path) -> TrainConfig:
    path = run_dir / "config.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: is {run_dir} a run folder of bam train detector?"
        )
    return TrainConfig.from_json(json.loads(path.read_text(encoding="utf-8")))


def load_trained(
    run_dir: str | Path, impl: str | None = None, device: str = "cpu"
) -> tuple[nn.Module, TrainConfig]:
    """The model of a finished (or interrupted) run, in eval mode, and its config."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    if impl is not None:
        config.impl = impl
    state = load_checkpoint(run_dir / CHECKPOINT)
    model = course_model(config, len(config.classes) + 1)
    model.load_state_dict(state["model"])
    return model.to(pick_device(device)).eval(), config


def write_figures(
    run_dir: Path, history: list[dict], shown: tuple[list, list, list], classes: tuple[str, ...]
) -> None:
    """``loss_curves.png`` and ``detections.png`` (the first test images) of a run."""
    import matplotlib.pyplot as plt

    from bam.plots.detector import detections_figure, loss_curves_figure

    figure = loss_curves_figure(history)
    figure.savefig(run_dir / "loss_curves.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    images, detections, truths = shown
    figure = detections_figure(images, detections, truths, classes)
    figure.savefig(run_dir / "detections.png", dpi=110, bbox_inches="tight")
    plt.close(figure)


# ----------------------------------------------------------------------------- training


def optimizer_for(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.learning_rate,
            momentum=0.9,
            weight_decay=config.weight_decay,
        )
    raise ValueError(f"optimizer should be adam or sgd, got {config.optimizer!r}")


def _open_run(config: TrainConfig, run_dir: str | Path | None, resume: bool) -> TrainConfig:
    """The run's settings: ``config``, or the run folder's own when resuming."""
    if not resume:
        return config
    if run_dir is None:
        raise ValueError("resume needs the run folder")
    requested = config.epochs  # 0: the run's own number of epochs
    saved = read_config(Path(run_dir))
    saved.epochs = requested or saved.epochs
    return saved


def schedule_factor(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """``step -> factor`` of the peak learning rate: ``config.schedule`` over the whole run.

    ``cosine``: a linear warm-up from 1/25 over ``config.warmup`` of the steps, then a cosine
    to 0 (``bam.train.schedules.warmup_cosine``); ``step``: 1, then 0.1 from ``lr_drop``
    (``step_drop``).
    """
    total = config.epochs * steps_per_epoch
    if config.schedule == "cosine":
        return lambda step: warmup_cosine(step, total, warmup=config.warmup)
    if config.schedule != "step":
        raise ValueError(f"schedule should be cosine or step, got {config.schedule!r}")
    milestone = max(1, round(config.lr_drop * config.epochs)) * steps_per_epoch
    return lambda step: step_drop(step, milestone)


def detector_recipe(
    config: TrainConfig,
    model: nn.Module,
    data: tuple[Any, Any],
    device: torch.device,
    world: Distributed,
    run_dir: Path,
) -> Recipe:
    """``bam train detector`` as a recipe of ``fit``: Adam, ``schedule_factor``'s schedule, flips."""
    train_set, test_set = data
    classes, num_classes = config.classes, len(config.classes) + 1
    collate = lesson_module("dataset", config.impl).collate_detection
    hflip = lesson_module("augment", config.impl).hflip if config.hflip else None
    optimizer = optimizer_for(model, config)
    trained = nn.parallel.DistributedDataParallel(model) if world.enabled else model
    test_loader = torch.utils.data.DataLoader(
        test_set, batch_size=config.batch_size, collate_fn=collate
    )
    steps = len(train_set) // (world.world_size * config.batch_size)
    lr_factor = schedule_factor(config, steps)
    orders: dict[int, Tensor] = {}
    shown: list[Any] = []

    def batch(epoch: int, index: int) -> tuple[Tensor, list[dict[str, Tensor]]]:
        order = orders.setdefault(epoch, epoch_order(config, epoch, len(train_set), world))
        positions = order[index * config.batch_size : (index + 1) * config.batch_size]
        images, targets = collate([train_set[int(position)] for position in positions])
        if hflip is not None:
            generator = torch.Generator().manual_seed(
                int(step_seed(config.seed, epoch, index, world.rank))
            )
            flip = torch.rand(len(images), generator=generator) < 0.5
            images, targets = hflip_batch(images, targets, flip, hflip)
        return images.to(device), _to_device(targets, device)

    def step(batch: tuple[Tensor, list[dict[str, Tensor]]]) -> dict[str, float]:
        trained.train()
        losses = trained(*batch)  # the model's named losses (four for either detector)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        return {name: value.item() for name, value in losses.items()}

    def evaluate(epoch: int, record: dict[str, Any]) -> dict[str, Any]:
        detections, truths, images = predict(model, test_loader, device)
        scores = score_detections(detections, truths, config, num_classes)
        shown[:] = [images[:6], detections[:6], truths[:6]]
        return {
            "loss": sum(value for name, value in record.items() if name.startswith("loss_")),
            "map": scores["map"],
            "ap": {classes[key - 1]: value for key, value in scores["ap"].items()},
        }

    def after_epoch(history: list[dict[str, Any]]) -> None:
        record = history[-1]
        write_json(run_dir / "metrics" / f"epoch_{record['epoch']:03d}.json", record)
        write_figures(run_dir, history, tuple(shown), classes)

    def describe(record: dict[str, Any]) -> str:
        return (
            f"epoch {record['epoch']}/{config.epochs}  loss {record['loss']:.3f}"
            f"  mAP@0.5 {record['map']:.3f}  ({record['seconds']:.0f} s)  "
            + "  ".join(f"{name} {ap:.2f}" for name, ap in record["ap"].items())
        )

    return Recipe(
        model=model, optimizer=optimizer, epochs=config.epochs, steps_per_epoch=steps,
        batch=batch, step=step, evaluate=evaluate,
        lr_factor=lr_factor,
        describe=describe, after_epoch=after_epoch, seed=config.seed, keep_steps=True,
    )  # fmt: skip


def train(
    config: TrainConfig,
    run_dir: str | Path | None = None,
    resume: bool = False,
    model_factory: ModelFactory | None = None,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Trains (or resumes) a detector and returns the last epoch's record.

    Args:
        config: the settings; when resuming, the run's ``config.json`` is used instead except for
            ``epochs`` (which may extend the run).
        run_dir: the run folder; a new one under ``runs/`` by default.
        resume: continue the run in ``run_dir`` after its last finished epoch.
        model_factory: builds the model from ``(config, num_classes)``; the course's
            ``FasterRCNN`` (from ``config.impl``) by default.
        log: where to print one line per epoch.
        show_progress: show a tqdm bar with the running losses (process 0 only).

    Returns:
        The record of the last epoch (losses, ``map``, ``ap``, ``seconds``, ...).

    Raises:
        UnfinishedExercises: when ``config.impl`` still has stubs the run needs.
        FileNotFoundError: when resuming a folder without ``config.json`` or checkpoint, or when
            ``config.backbone_weights`` names a missing folder.
        ValueError: when the pretrained backbone's width or shapes do not fit the model's
            ``.backbone`` (a new run loads ``config.backbone_weights`` into it, for our model and
            for ``model_factory``'s alike).
    """
    config = _open_run(config, run_dir, resume)
    if model_factory is None:
        require_finished(config.impl, config.pool, config.hflip, config.model)
    device = pick_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    world = start_distributed(device)
    prefix = "yolo" if config.model == "yolo" else "detector"
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(prefix, RUNS_ROOT)
    if resume and not (run_dir / CHECKPOINT).is_file():
        raise FileNotFoundError(
            f"{run_dir / CHECKPOINT}: no checkpoint (did the run finish an epoch?)"
        )

    train_set = load_split(config, config.train_split, config.max_train_images)
    test_set = load_split(config, config.test_split, config.max_test_images)
    folder = train_set.dataset if isinstance(train_set, torch.utils.data.Subset) else train_set
    config.classes = tuple(folder.classes)
    if not resume:
        config.backbone_weights = resolve_backbone_weights(config)
    torch.manual_seed(config.seed)  # the same initial weights in every process
    model = (model_factory or course_model)(config, len(config.classes) + 1)
    if not resume:  # a resumed run's checkpoint holds the backbone
        load_pretrained_backbone(model, config)
    model = model.to(device)
    if not resume and world.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json", config.to_json())
        log(f"run folder: {run_dir}")
        weights = config.backbone_weights
        log("backbone: " + ("trained from scratch (no pretrained weights)" if weights == "none"
                            else f"pretrained, from {weights}"))  # fmt: skip
    recipe = detector_recipe(config, model, (train_set, test_set), device, world, run_dir)
    history = fit(
        recipe, run_dir / CHECKPOINT, resume=resume, world=world, log=log,
        progress=show_progress,
    )  # fmt: skip
    if world.enabled:
        dist.destroy_process_group()
    record = history[-1] if history else {}
    return {**record, "run_dir": str(run_dir)}
