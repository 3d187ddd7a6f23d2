"""Fine-tuning SAM with box prompts (``bam train sam``, ``bam compare sam``): water or instances.

The course's first model as a pipeline that runs anywhere: the pretrained tiny SAM (or any SAM saved
with ``save_pretrained``) gets its encoders frozen and its mask decoder trained, by the one
training loop ``bam.train.fit``, on
``data/water`` with Adam (its learning rate decayed along a cosine) and the DiceCE loss, box
prompts made from the ground-truth masks (jittered in training, tight at test time), the course's
augmentation (lesson 2's ``build_pipeline(train=True)``), and IoU and Dice on the test split
after every epoch. It runs the exercises of lessons 1-4 from ``lessons`` (your code) or
``solutions`` (the reference).

``--data`` may also be a Pascal VOC folder with instance masks (``SegmentationObject/``, as
the bundled ``data/shapes``): then every object is a sample of its own — the image and that
object's mask, the box prompt made from the mask by the same ``box_prompt`` — and the folder's
own ``train`` and ``test`` splits (``ImageSets/Segmentation``) replace lesson 1's
``train_test_split`` (``test_ratio`` is not used): the SAM that lesson 11's pipeline prompts
with detector boxes is fine-tuned on the training images only, the ones the detector learnt
from.

A run folder holds::

    config.json         the settings of the run
    metrics.json        one entry per finished epoch: train loss, test IoU and Dice, seconds
    checkpoint.pt       the latest state (model, optimiser, epoch, batch, history): resumable
    curves.png          loss, IoU and Dice per epoch
    predictions/*.png   per test image: input + box, predicted mask, probabilities, truth (1-10)
    model/              the fine-tuned SAM (``save_pretrained``; ``load_sam`` reads it)

The state is saved every ``checkpoint_every`` batches, at the end of every epoch, and on Ctrl-C,
so ``--resume RUN_DIR`` continues where the run stopped and ends with the same weights as a run
that was never interrupted (shuffling, jitter and augmentation are seeded per epoch and batch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from bam.configs import RunConfig
from bam.course import require_finished
from bam.data.datasets import InstanceMaskFolder, SegmentationFolder, has_instance_masks
from bam.implementations import is_stub, lesson_module
from bam.sam_model import load_sam
from bam.train import Recipe, fit, pick_device, runs, write_json
from bam.train.loop import CHECKPOINT, step_seed
from bam.train.schedules import warmup_cosine

# exercises each part of the pipeline runs (lesson -> names)
TRAINING_EXERCISES: dict[str, tuple[str, ...]] = {
    "dataset": ("train_test_split", "load_segmentation_pair"),
    "metrics": ("mask_iou", "dice_coefficient", "dice_ce_loss"),
    "sam": (
        "box_prompt",
        "freeze_for_finetuning",
        "upsample_logits",
        "train_step",
        "predict_masks",
    ),
}
EVALUATION_EXERCISES: dict[str, tuple[str, ...]] = {
    "dataset": ("train_test_split", "load_segmentation_pair"),
    "metrics": ("mask_iou", "dice_coefficient"),
    "sam": ("box_prompt", "upsample_logits", "predict_masks"),
}


# a VOC instance folder: its own splits, and DetectionFolder's resize_boxes for the resizing
_INSTANCE_DATASET = ("resize_boxes",)


def exercises_for(data: str | Path, needed: dict[str, tuple[str, ...]]) -> dict[str, tuple]:
    """``needed`` for the data at ``data``: lesson 1's exercises the loader of that layout runs."""
    if has_instance_masks(data):
        return {**needed, "dataset": _INSTANCE_DATASET}
    return needed


SamData = SegmentationFolder | InstanceMaskFolder


def load_exercises(impl: str, needed: dict[str, tuple[str, ...]]) -> dict[str, ModuleType]:
    """The lesson modules of ``impl`` (``lessons`` or ``solutions``) the pipeline runs.

    Raises:
        UnfinishedExercises: naming every needed exercise that is still a stub.
    """
    require_finished(impl, needed, "this pipeline")
    return {lesson: lesson_module(lesson, impl) for lesson in needed}


def split_water(config: RunConfig, impl: str) -> tuple[Tensor, Tensor]:
    """Train and test indices of the images in ``config.data`` (lesson 1's ``train_test_split``)."""
    dataset = lesson_module("dataset", impl)
    count = len(SegmentationFolder(config.data, config.size, impl=dataset))
    count = min(count, config.limit) if config.limit else count
    return dataset.train_test_split(count, config.test_ratio, config.seed)


def load_data(
    config: RunConfig, modules: dict[str, ModuleType], augment: Any = None
) -> tuple[SamData, SamData]:
    """The training and test sets of ``config.data``, either layout.

    Water layout (``Images/`` + ``Masks/``): lesson 1's ``train_test_split`` of the (first
    ``limit``) images. VOC layout with instance masks: one sample per object of the folder's
    ``train_split`` and ``test_split`` images (the first ``limit`` images of each).

    Args:
        config: the run's data, size, split settings and limit.
        modules: the lesson modules (``dataset`` runs the loading).
        augment: the training set's augmentation (``None``: none); the test set has none.
    """
    if has_instance_masks(config.data):
        train_data = InstanceMaskFolder(
            config.data, config.train_split, config.size, augment=augment,
            impl=modules["dataset"], limit=config.limit,
        )  # fmt: skip
        test_data = InstanceMaskFolder(
            config.data, config.test_split, config.size, impl=modules["dataset"],
            limit=config.limit,
        )  # fmt: skip
        return train_data, test_data
    train_idx, test_idx = split_water(config, config.impl)
    train_data = SegmentationFolder(
        config.data, config.size, train_idx, augment=augment, impl=modules["dataset"]
    )
    return train_data, SegmentationFolder(
        config.data, config.size, test_idx, impl=modules["dataset"]
    )


def schedule_factor(config: RunConfig, total_steps: int) -> Callable[[int], float]:
    """``step -> factor`` of Adam's peak learning rate (``config.learning_rate``) over the run.

    ``constant``: 1 throughout. ``cosine``: from 1 down to 0.05 at the last of ``total_steps``
    along half a cosine, no warm-up (``bam.train.schedules.warmup_cosine``): big steps while the
    decoder is far from the water domain, small ones at the end so the last epochs settle
    instead of bouncing between batches. A function of the step alone, so a resumed run
    follows the same schedule.
    """
    if config.schedule == "constant":
        return lambda step: 1.0
    return lambda step: warmup_cosine(step, total_steps, warmup=0.0, floor=0.05)


def _load_batch(
    data: SamData, positions: list[int], sam: ModuleType, jitter: int, seed: int
) -> dict[str, Tensor] | None:
    """Images, masks and box prompts of some samples; samples with an empty mask are left out."""
    if data.augment is not None and hasattr(data.augment, "set_random_seed"):
        data.augment.set_random_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images, masks, boxes = [], [], []
    for position in positions:
        image, mask = data[position]
        if not mask.bool().any():
            continue  # no water: no box to prompt with
        images.append(image)
        masks.append(mask)
        boxes.append(sam.box_prompt(mask, jitter=jitter, generator=generator))
    if not images:
        return None
    return {"images": torch.stack(images), "masks": torch.stack(masks), "boxes": torch.stack(boxes)}


def evaluate(
    model: torch.nn.Module,
    data: SamData,
    modules: dict[str, ModuleType],
    batch_size: int = 8,
) -> dict[str, float]:
    """Mean IoU and Dice of ``predict_masks`` with tight boxes over a (test) data set."""
    sam, metrics = modules["sam"], modules["metrics"]
    device = next(model.parameters()).device
    ious, dices = [], []
    for start in range(0, len(data), batch_size):
        batch = _load_batch(data, list(range(start, min(start + batch_size, len(data)))), sam, 0, 0)
        if batch is None:
            continue
        predicted = sam.predict_masks(
            model, batch["images"].to(device), batch["boxes"].to(device)
        ).cpu()
        ious.append(metrics.mask_iou(predicted, batch["masks"].bool()))
        dices.append(metrics.dice_coefficient(predicted, batch["masks"].bool()))
    if not ious:
        raise ValueError(f"{data.root}: no test sample with a mask (water, an object) to evaluate")
    return {"iou": float(torch.cat(ious).mean()), "dice": float(torch.cat(dices).mean())}


def box_baseline(data: SamData, modules: dict[str, ModuleType]) -> dict[str, float]:
    """IoU and Dice of the trivial answer: the tight box itself, filled, as the mask."""
    metrics, sam = modules["metrics"], modules["sam"]
    ious, dices = [], []
    for position in range(len(data)):
        _, mask = data[position]
        if not mask.bool().any():
            continue
        x1, y1, x2, y2 = sam.box_prompt(mask).long().tolist()
        filled = torch.zeros(mask.shape, dtype=torch.bool)
        filled[y1:y2, x1:x2] = True  # pixel-edge box: pixels x1 .. x2 - 1
        ious.append(metrics.mask_iou(filled[None], mask.bool()[None]))
        dices.append(metrics.dice_coefficient(filled[None], mask.bool()[None]))
    return {"iou": float(torch.cat(ious).mean()), "dice": float(torch.cat(dices).mean())}


def new_run_dir(root: str | Path = "runs") -> Path:
    """A fresh folder ``runs/sam-YYYYmmdd-HHMMSS`` (with a suffix if that exists)."""
    return runs.new_run_dir("sam", root)


def sam_recipe(
    config: RunConfig,
    model: torch.nn.Module,
    data: tuple[SamData, SamData],
    modules: dict[str, ModuleType],
    device: torch.device,
) -> Recipe:
    """``bam train sam`` as a recipe of ``fit``: Adam on the decoder, cosine decay, DiceCE."""
    train_data, test_data = data
    sam, metrics = modules["sam"], modules["metrics"]
    optimizer = torch.optim.Adam(sam.freeze_for_finetuning(model), lr=config.learning_rate)
    steps = (len(train_data) + config.batch_size - 1) // config.batch_size
    total = config.epochs * steps

    def batch(epoch: int, index: int) -> dict[str, Tensor] | None:
        order = torch.randperm(
            len(train_data), generator=torch.Generator().manual_seed(config.seed + epoch)
        )
        positions = order[index * config.batch_size : (index + 1) * config.batch_size]
        loaded = _load_batch(
            train_data, positions.tolist(), sam, config.jitter, step_seed(config.seed, epoch, index)
        )
        return None if loaded is None else {key: v.to(device) for key, v in loaded.items()}

    def evaluate_epoch(epoch: int, record: dict[str, Any]) -> dict[str, Any]:
        scores = evaluate(model, test_data, modules)
        return {
            "train_loss": record.pop("train_loss", float("nan")),
            "test_iou": scores["iou"],
            "test_dice": scores["dice"],
        }

    return Recipe(
        model=model, optimizer=optimizer, epochs=config.epochs, steps_per_epoch=steps,
        batch=batch,
        step=lambda b: {"train_loss": sam.train_step(model, b, optimizer, metrics.dice_ce_loss)},
        evaluate=evaluate_epoch,
        lr_factor=schedule_factor(config, total),
        describe=lambda r: (
            f"epoch {r['epoch']}/{config.epochs}: loss {r['train_loss']:.4f},"
            f" test IoU {r['test_iou']:.4f}, Dice {r['test_dice']:.4f}"
        ),
        seed=config.seed,
    )  # fmt: skip


def train(
    config: RunConfig,
    run_dir: str | Path,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: bool = True,
    after_batch: Callable[[int, int], None] | None = None,
) -> list[dict[str, float]]:
    """Fine-tunes SAM's mask decoder (water set, or a VOC instance folder); returns the metrics.

    Args:
        config: the settings (ignored on resume: the run's ``config.json`` is used).
        run_dir: the run folder (created; must not hold a run unless ``resume``).
        resume: continue the run saved in ``run_dir``.
        log: where progress lines go.
        progress: show a tqdm bar per epoch.
        after_batch: called as ``after_batch(epoch, batch)`` after each batch (tests use it to
            interrupt a run).

    Returns:
        One dict per epoch: ``epoch``, ``train_loss``, ``test_iou``, ``test_dice``, ``seconds``.

    Raises:
        UnfinishedExercises: if an exercise the pipeline runs is still a stub.
        FileExistsError / FileNotFoundError: a new run into a used folder, or resuming nothing.
    """
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / CHECKPOINT
    if resume:
        if not checkpoint_path.is_file():
            raise FileNotFoundError(f"{run_dir}: nothing to resume (no checkpoint.pt)")
        config = RunConfig(**json.loads((run_dir / "config.json").read_text(encoding="utf-8")))
    elif checkpoint_path.exists():
        raise FileExistsError(f"{run_dir} already holds a run: use --resume, or another --out")
    modules = load_exercises(config.impl, exercises_for(config.data, TRAINING_EXERCISES))
    device = pick_device(config.device)
    torch.manual_seed(config.seed)
    model = load_sam(config.checkpoint, device=device)
    if not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json", asdict(config))

    augment = None
    if config.augment:
        augment_module = lesson_module("augment", config.impl)
        if is_stub(augment_module.build_pipeline):
            log("augment.build_pipeline is not done yet: training without augmentation")
        else:
            augment = augment_module.build_pipeline(train=True)
    train_data, test_data = load_data(config, modules, augment)
    recipe = sam_recipe(config, model, (train_data, test_data), modules, device)
    history = fit(
        recipe, checkpoint_path, resume=resume, log=log, progress=progress,
        checkpoint_every=config.checkpoint_every, after_batch=after_batch,
    )  # fmt: skip
    model.save_pretrained(run_dir / "model")
    if config.figures:
        from bam.plots.sam import save_run_figures

        save_run_figures(run_dir, history, model, test_data, modules)
    return history


def compare(config: RunConfig, fine_tuned: str | Path | None) -> dict[str, dict[str, float]]:
    """IoU and Dice on the test split of: the box itself, SAM before fine-tuning, and after.

    Args:
        config: data, split, checkpoint (the model *before*), impl and device.
        fine_tuned: a run folder (its ``model/``) or a ``save_pretrained`` folder: the model
            *after*; ``None`` to leave that row out.

    Returns:
        ``{"box as mask": {...}, "SAM before fine-tuning": {...}, "SAM fine-tuned": {...}}``.
    """
    modules = load_exercises(config.impl, exercises_for(config.data, EVALUATION_EXERCISES))
    device = pick_device(config.device)
    _, test_data = load_data(config, modules)
    rows = {"box as mask": box_baseline(test_data, modules)}
    before = load_sam(config.checkpoint, device=device).eval()
    rows["SAM before fine-tuning"] = evaluate(before, test_data, modules)
    if fine_tuned is not None:
        folder = Path(fine_tuned)
        folder = folder / "model" if (folder / "model" / "config.json").is_file() else folder
        rows["SAM fine-tuned"] = evaluate(
            load_sam(folder, device=device).eval(), test_data, modules
        )
    return rows
