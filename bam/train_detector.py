"""Training, evaluation and prediction for the course's Faster R-CNN (``bam train detector``).

The loop is the usual one: batches of the training split, the model's four losses summed,
one optimiser step; after every epoch, mAP@0.5 on the test split (lesson 3's
``mean_average_precision``) and a checkpoint. A run folder holds everything::

    runs/detector-YYYYmmdd-HHMMSS/
        config.json            the settings (resume and eval read them back)
        checkpoint.pt          model, optimiser and schedule after the last finished epoch
        metrics/epoch_001.json losses (per step and mean), mAP, AP per class, seconds
        loss_curves.png        losses and mAP per epoch (the seed's figure 2-7)
        detections.png         test images with detections (solid) and ground truth (dashed)

Resuming (``--resume RUN_DIR``) restarts after the last finished epoch. Each epoch draws its
data order, flips and samples from a generator seeded by ``(seed, epoch, rank)``, so an
interrupted and resumed run ends with the same weights as an uninterrupted one.

Under ``torchrun --nproc_per_node=N`` each process trains on its share of every epoch
(``DistributedSampler``) and gradients are averaged (``DistributedDataParallel``; gloo on CPU,
NCCL on GPUs); process 0 evaluates, writes files and shows progress.

``model_factory`` lets ``bam compare detector`` train torchvision's ``FasterRCNN`` with the very
same loop, data, optimiser and schedule.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import json
import os
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from bam.datasets import SHAPES_ROOT, DetectionFolder
from bam.implementations import lesson_module

RUNS_ROOT = Path("runs")
CHECKPOINT = "checkpoint.pt"
LOSS_NAMES = ("loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg")

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


class UnfinishedExercises(RuntimeError):
    """Some exercises a pipeline needs still raise ``NotImplementedError``."""


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
    train_split: str = "train"
    test_split: str = "test"
    image_size: tuple[int, int] = (120, 160)
    epochs: int = 24  # measured: mAP@0.5 0.908 (RoIAlign, pretrained backbone, 1 thread) in 8.0 min
    batch_size: int = 4
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    lr_drop: float = 0.75
    hflip: bool = True
    seed: int = 0
    impl: str = "solutions"
    device: str = "auto"
    width: float = 0.125
    hidden: int = 256
    backbone_weights: str = "auto"
    anchor_sizes: tuple[float, ...] = (16, 32, 64)
    anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    # RoIAlign: objects here are 1-4 cells of the 7x10 feature map, and roi_pool's rounding to
    # whole cells loses them (measured, 8 epochs, lr 1e-4: mAP@0.5 0.44 against 0.24, and faster)
    pool: str = "roi_align"
    rpn_batch_size: int = 256
    roi_batch_size: int = 128
    max_train_images: int | None = None
    max_test_images: int | None = None
    classes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> TrainConfig:
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config.json has unknown settings {unknown}")
        tuples = {"image_size", "anchor_sizes", "anchor_ratios", "classes"}
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


ModelFactory = Callable[[TrainConfig, int], nn.Module]


# ----------------------------------------------------------------------------- exercises


def _raises_not_implemented(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(statement, ast.Raise)
        and statement.exc is not None
        and "NotImplementedError" in ast.unparse(statement.exc)
        for statement in function.body
    )


def is_unfinished(obj: object) -> bool:
    """Whether a function or class still has a stub body (a top-level ``raise NotImplementedError``)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return False
    node = tree.body[0]
    if isinstance(node, ast.ClassDef):
        return any(
            isinstance(item, ast.FunctionDef) and _raises_not_implemented(item)
            for item in node.body
        )
    return isinstance(node, ast.FunctionDef) and _raises_not_implemented(node)


def unfinished_exercises(impl: str, pool: str = "roi_pool") -> list[str]:
    """The exercises that a training run needs and that are still stubs in ``impl``."""
    missing = []
    for lesson, names in REQUIRED_EXERCISES.items():
        module = lesson_module(lesson, impl)
        wanted = names + (("roi_align",) if lesson == "roi" and pool == "roi_align" else ())
        missing += [
            f"{impl}/{lesson}.py::{name}"
            for name in wanted
            if is_unfinished(getattr(module, name, None))
        ]
    return missing


def require_finished(impl: str, pool: str = "roi_pool") -> None:
    """Raises ``UnfinishedExercises`` naming every stub a run would hit."""
    missing = unfinished_exercises(impl, pool)
    if missing:
        raise UnfinishedExercises(
            "these exercises are not implemented yet, and training the detector runs them all:\n  "
            + "\n  ".join(missing)
            + "\nFinish them (pytest checks --exercise LESSON tells how far you are), or train the"
            " reference with --impl solutions."
        )


# ----------------------------------------------------------------------------- set-up


@dataclass
class Distributed:
    """Where this process stands in a ``torchrun`` job (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def start_distributed(device: torch.device) -> Distributed:
    """Joins the ``torchrun`` process group when launched by it (``WORLD_SIZE`` > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    )


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` is CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device should be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available here (use --device cpu or auto)")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def load_split(
    config: TrainConfig, split: str, limit: int | None
) -> DetectionFolder | torch.utils.data.Subset:
    dataset = DetectionFolder(
        config.data, split, size=config.image_size, classes=config.classes or None, impl=config.impl
    )
    if limit is not None and limit < len(dataset):
        return torch.utils.data.Subset(dataset, range(limit))
    return dataset


def course_model(config: TrainConfig, num_classes: int) -> nn.Module:
    """The course's ``FasterRCNN`` from ``config.impl``, with the run's settings."""
    detector = lesson_module("detector", config.impl)
    return detector.FasterRCNN(num_classes, **config.model_options())


def resolve_backbone_weights(config: TrainConfig) -> str:
    """The pretrained backbone folder a new run loads, or ``"none"``.

    ``"auto"`` picks the bundled ``data/vgg-tiny-pretrained`` when it exists and was made for
    ``config.width``; an explicit folder must exist (the shapes are checked when loading).
    """
    from bam.backbone_pretrain import CONFIG_FILE, PRETRAINED_BACKBONE

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
    from bam.backbone_pretrain import load_backbone_weights

    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, nn.Module):
        raise ValueError(
            f"{type(model).__name__} has no .backbone module to load {config.backbone_weights}"
            " into (use --backbone-weights none)"
        )
    load_backbone_weights(backbone, config.backbone_weights, config.width)


def new_run_dir() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RUNS_ROOT / f"detector-{stamp}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = RUNS_ROOT / f"detector-{stamp}-{suffix}"
    return path


def _to_device(targets: list[dict[str, Tensor]], device: torch.device) -> list[dict[str, Tensor]]:
    return [{key: value.to(device) for key, value in target.items()} for target in targets]


def hflip_batch(
    images: Tensor, targets: list[dict[str, Tensor]], flip: Tensor
) -> tuple[Tensor, list]:
    """Mirrors the images where ``flip`` is True, and their boxes with them (``x' = W - x``)."""
    width = images.shape[-1]
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    flipped = []
    for target, mirror in zip(targets, flip.tolist(), strict=True):
        boxes = target["boxes"]
        if mirror:
            boxes = torch.stack(
                [width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1
            )
        flipped.append({**target, "boxes": boxes})
    return images, flipped


def epoch_generator(config: TrainConfig, epoch: int, rank: int) -> torch.Generator:
    return torch.Generator().manual_seed(config.seed * 1_000_003 + epoch * 1_009 + rank)


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


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` of plain state dicts, written to a temporary file first (a kill never
    leaves half a checkpoint)."""
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Loads a checkpoint with ``weights_only=True``: tensors and plain containers, no pickled code.

    Raises:
        FileNotFoundError: with advice, when the run has no checkpoint yet.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint (did the run finish an epoch?)")
    return torch.load(path, map_location="cpu", weights_only=True)


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


@contextlib.contextmanager
def _progress(total: int, description: str, enabled: bool) -> Iterator[Any]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, disable=not enabled, leave=False, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


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
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run folder")
        requested = config.epochs  # 0: the run's own number of epochs
        config = read_config(Path(run_dir))
        config.epochs = requested or config.epochs
    if model_factory is None:
        require_finished(config.impl, config.pool)
    device = pick_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    world = start_distributed(device)
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir()

    train_set = load_split(config, config.train_split, config.max_train_images)
    test_set = load_split(config, config.test_split, config.max_test_images)
    classes = (
        train_set.dataset if isinstance(train_set, torch.utils.data.Subset) else train_set
    ).classes
    config.classes = tuple(classes)
    num_classes = len(classes) + 1
    collate = lesson_module("dataset", config.impl).collate_detection

    if not resume:
        config.backbone_weights = resolve_backbone_weights(config)
    torch.manual_seed(config.seed)  # the same initial weights in every process
    model = (model_factory or course_model)(config, num_classes)
    if not resume:  # a resumed run's checkpoint holds the backbone
        load_pretrained_backbone(model, config)
    model = model.to(device)
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
    elif config.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay
        )
    else:
        raise ValueError(f"optimizer should be adam or sgd, got {config.optimizer!r}")
    milestone = max(1, round(config.lr_drop * config.epochs))  # the learning rate drops 10x there
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, [milestone], gamma=0.1)
    history: list[dict] = []
    start_epoch = 0
    if resume:
        state = load_checkpoint(run_dir / CHECKPOINT)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        history = json.loads(state["history"])
        start_epoch = int(state["epoch"])
        log(f"resuming {run_dir} after epoch {start_epoch} of {config.epochs}")
    elif world.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(run_dir / "config.json", config.to_json())
        log(f"run folder: {run_dir}")
        log(
            "backbone: "
            + (
                "trained from scratch (no pretrained weights)"
                if config.backbone_weights == "none"
                else f"pretrained, from {config.backbone_weights}"
            )
        )
    trained = nn.parallel.DistributedDataParallel(model) if world.enabled else model

    test_loader = torch.utils.data.DataLoader(
        test_set, batch_size=config.batch_size, collate_fn=collate
    )
    record: dict[str, Any] = history[-1] if history else {}
    for epoch in range(start_epoch, config.epochs):
        generator = epoch_generator(config, epoch, world.rank)
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))  # samplers
        if world.enabled:
            sampler = torch.utils.data.DistributedSampler(
                train_set,
                world.world_size,
                world.rank,
                shuffle=True,
                seed=config.seed,
                drop_last=True,
            )
            sampler.set_epoch(epoch)
        else:
            sampler = torch.utils.data.RandomSampler(train_set, generator=generator)
        loader = torch.utils.data.DataLoader(
            train_set,
            batch_size=config.batch_size,
            sampler=sampler,
            collate_fn=collate,
            drop_last=True,
        )
        trained.train()
        started = time.perf_counter()
        step_losses: list[dict[str, float]] = []
        with _progress(
            len(loader), f"epoch {epoch + 1}/{config.epochs}", show_progress and world.main
        ) as bar:
            for images, targets in loader:
                if config.hflip:
                    flip = torch.rand(len(images), generator=generator) < 0.5
                    images, targets = hflip_batch(images, targets, flip)
                losses = trained(images.to(device), _to_device(targets, device))
                total = sum(losses[name] for name in LOSS_NAMES)
                if not torch.isfinite(total):
                    raise FloatingPointError(
                        f"epoch {epoch + 1}: the loss became {total.item()} ({ {k: v.item() for k, v in losses.items()} });"
                        " try a smaller --lr"
                    )
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                step_losses.append({name: losses[name].item() for name in LOSS_NAMES})
                running = {
                    name.removeprefix("loss_"): sum(s[name] for s in step_losses[-20:])
                    / len(step_losses[-20:])
                    for name in LOSS_NAMES
                }
                bar.set_postfix({key: f"{value:.3f}" for key, value in running.items()})
                bar.update()
        schedule.step()
        seconds = time.perf_counter() - started
        means = {
            name: sum(s[name] for s in step_losses) / max(len(step_losses), 1)
            for name in LOSS_NAMES
        }
        if world.enabled:  # average the epoch's losses and time over the processes
            packed = torch.tensor([*means.values(), seconds], dtype=torch.float64)
            dist.all_reduce(packed)
            packed /= world.world_size
            means = dict(zip(LOSS_NAMES, packed[:-1].tolist(), strict=True))
            seconds = float(packed[-1])
        if world.main:
            detections, truths, images = predict(model, test_loader, device)
            scores = score_detections(detections, truths, config, num_classes)
            record = {
                "epoch": epoch + 1,
                **means,
                "loss": sum(means.values()),
                "map": scores["map"],
                "ap": {classes[key - 1]: value for key, value in scores["ap"].items()},
                "seconds": seconds,
                "lr": optimizer.param_groups[0]["lr"],
                "steps": [[round(s[name], 5) for name in LOSS_NAMES] for s in step_losses],
            }
            history.append(record)
            _write_json(run_dir / "metrics" / f"epoch_{epoch + 1:03d}.json", record)
            save_checkpoint(
                run_dir / CHECKPOINT,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "epoch": epoch + 1,
                    "history": json.dumps(history),
                },
            )
            write_figures(
                run_dir, history, (images[:6], detections[:6], truths[:6]), config.classes
            )
            log(
                f"epoch {epoch + 1}/{config.epochs}  loss {record['loss']:.3f}  mAP@0.5 {record['map']:.3f}"
                f"  ({seconds:.0f} s)  "
                + "  ".join(f"{name} {ap:.2f}" for name, ap in record["ap"].items())
            )
        world.barrier()
    if world.main and not history:
        log("nothing to train: the run already has all its epochs")
    if world.enabled:
        dist.destroy_process_group()
    return {**record, "run_dir": str(run_dir)}
