"""Pretraining the detector's reduced-width VGG16 backbone on synthetic shapes (``bam pretrain backbone``).

A real Faster R-CNN starts from a backbone trained on ImageNet; lesson 9's detector, trained
from scratch (VGG16 has no BatchNorm), spends most of a CPU budget learning what an edge is. The
course cannot download ImageNet weights, so it makes its own: ``vgg16_backbone(width)`` (the same
``state_dict`` layout as ``FasterRCNN.backbone``) is trained here as a dense stride-16 learner on
images drawn on the fly — six generic shapes (circle, square, triangle, ellipse, cross, ring) in
random colours on textured, streaked backgrounds, 12-48 px across (the objects' sizes in the
detector's 120x160 inputs). Each feature-map cell learns three things from a small head:

* which shape has its centre in the cell, or none (cross-entropy over 1 + 6 classes),
* the size and centre offset of that shape (smooth L1 on ``log(w / 16)``, ``log(h / 16)``, offsets),
* whether the cell's centre lies inside any shape's box (binary cross-entropy).

So stride-16 features say *what* is *where* and *how big*: what the RPN and the Fast R-CNN head
need. None of the images is from ``data/shapes`` (the generator is separate and in torch).

The shipped weights (``data/vgg-tiny-pretrained/``, 0.9 MB) were remade on 2026-12-07 by
today's loop and recipe (``bam.train.fit``; ``warmup_cosine``; each step's images seeded by
``bam.train.loop.step_seed``; the shapes drawn by ``bam.data.shape_drawer``) with the defaults::

    OMP_NUM_THREADS=1 bam pretrain backbone --threads 1 --out data/vgg-tiny-pretrained

which ran all 2000 steps (24,000 images) in 7.4 minutes on one thread of a 2-core CPU shared
with another training run; ``config.json`` there records the steps, seconds and final losses
(class 0.174, size 0.013, inside 0.032; the earlier 900-step weights ended at 0.287, 0.018,
0.051). The run is seeded (the weights' start and every step's images);
``--minutes`` stops a run on the clock, so a rerun under a limit may stop earlier.

Notation:
    B           batch size
    H, W        image height and width (120, 160)
    H', W'      feature-map size (``feature_map_size(H, W)``, stride 16)
    K           shape kinds (6); cell classes are 0 (no centre) and 1..K
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bam.configs import BackbonePretrainConfig
from bam.data.backbone_shapes import SHAPE_KINDS, synthetic_batch
from bam.implementations import lesson_module
from bam.train import Recipe, fit
from bam.train.loop import step_seed
from bam.train.schedules import warmup_cosine

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
STRIDE = 16


def cell_targets(
    boxes: list[Tensor], kinds: list[Tensor], feature_size: tuple[int, int]
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-cell targets at stride 16.

    Returns:
        ``(classes int64 [B, H', W'], sizes float [B, 4, H', W'], inside float [B, H', W'])``:
        the kind + 1 of the shape whose box centre is in the cell (0: none; the larger shape
        wins), that shape's ``(offset x, offset y, log(w / 16), log(h / 16))`` (offsets of the
        centre from the cell's centre, in cells), and whether the cell's centre is inside a box.
    """
    rows, columns = feature_size
    classes = torch.zeros(len(boxes), rows, columns, dtype=torch.int64)
    sizes = torch.zeros(len(boxes), 4, rows, columns)
    inside = torch.zeros(len(boxes), rows, columns)
    cell_y = (torch.arange(rows) + 0.5) * STRIDE  # [H']
    cell_x = (torch.arange(columns) + 0.5) * STRIDE  # [W']
    for index, (image_boxes, image_kinds) in enumerate(zip(boxes, kinds, strict=True)):
        if len(image_boxes) == 0:
            continue
        centre = (image_boxes[:, :2] + image_boxes[:, 2:]) / 2  # [N, 2]
        extent = (image_boxes[:, 2:] - image_boxes[:, :2]).clamp(min=1)  # [N, 2]
        column = (centre[:, 0] // STRIDE).long().clamp(0, columns - 1)
        row = (centre[:, 1] // STRIDE).long().clamp(0, rows - 1)
        order = extent.prod(1).argsort()  # small first, so larger shapes overwrite the cell
        classes[index, row[order], column[order]] = image_kinds[order] + 1
        offsets = (centre - torch.stack([cell_x[column], cell_y[row]], 1)) / STRIDE  # [N, 2]
        values = torch.cat([offsets, (extent / STRIDE).log()], 1)  # [N, 4]
        sizes[index, :, row[order], column[order]] = values[order].T
        covered = (
            (cell_x[None, None, :] > image_boxes[:, 0, None, None])
            & (cell_x[None, None, :] < image_boxes[:, 2, None, None])
            & (cell_y[None, :, None] > image_boxes[:, 1, None, None])
            & (cell_y[None, :, None] < image_boxes[:, 3, None, None])
        )  # [N, H', W']
        inside[index] = covered.any(0).float()
    return classes, sizes, inside


# ----------------------------------------------------------------------------- model


class DenseShapeHead(nn.Module):
    """3x3 conv + ReLU, then 1x1 convs for cell classes (1 + K), sizes (4) and inside (1)."""

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, hidden, 3, padding=1)
        self.output = nn.Conv2d(hidden, 1 + len(SHAPE_KINDS) + 4 + 1, 1)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        out = self.output(F.relu(self.conv(features)))  # [B, 1 + K + 5, H', W']
        classes = 1 + len(SHAPE_KINDS)
        return out[:, :classes], out[:, classes : classes + 4], out[:, -1]


def backbone_channels(backbone: nn.Module) -> int:
    return [layer for layer in backbone.modules() if isinstance(layer, nn.Conv2d)][-1].out_channels


def pretraining_loss(
    head_outputs: tuple[Tensor, Tensor, Tensor], targets: tuple[Tensor, Tensor, Tensor]
) -> dict[str, Tensor]:
    """The three losses of the dense head (sizes only on cells that hold a centre)."""
    logits, size_predictions, inside_logits = head_outputs
    classes, sizes, inside = targets
    weights = torch.ones(logits.shape[1], device=logits.device)
    weights[0] = 0.3  # most cells are empty
    centres = classes > 0  # [B, H', W']
    size_loss = (
        F.smooth_l1_loss(
            size_predictions.permute(0, 2, 3, 1)[centres], sizes.permute(0, 2, 3, 1)[centres]
        )
        if bool(centres.any())
        else size_predictions.sum() * 0
    )
    return {
        "class": F.cross_entropy(logits, classes, weight=weights),
        "size": size_loss,
        "inside": F.binary_cross_entropy_with_logits(inside_logits, inside),
    }


# ----------------------------------------------------------------------------- files


def save_backbone(out_dir: str | Path, backbone: nn.Module, config: dict[str, Any]) -> Path:
    """Writes ``model.safetensors`` (the backbone's state dict) and ``config.json`` into ``out_dir``."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().contiguous().cpu() for key, value in backbone.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out_dir


def load_backbone_weights(backbone: nn.Module, path: str | Path, width: float) -> dict[str, Any]:
    """Loads pretrained weights saved by :func:`save_backbone` into ``backbone`` (in place).

    Args:
        backbone: ``vgg16_backbone(width)`` or a module with the same ``state_dict`` keys.
        path: the folder holding ``model.safetensors`` and ``config.json``.
        width: the backbone's channel multiplier, compared with the saved one.

    Returns:
        The saved ``config.json``.

    Raises:
        FileNotFoundError: when the folder lacks either file.
        ValueError: when the saved width or any tensor's shape does not match ``backbone``.
    """
    from safetensors.torch import load_file

    path = Path(path)
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{path / name} not found: --backbone-weights wants a folder written by"
                " bam pretrain backbone (or 'none' to train from scratch)"
            )
    config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    if abs(float(config.get("width", -1)) - width) > 1e-9:
        raise ValueError(
            f"{path}: the pretrained backbone has width {config.get('width')}, the model {width};"
            f" use --width {config.get('width')}, other weights, or --backbone-weights none"
        )
    state = load_file(str(path / WEIGHTS_FILE))
    own = backbone.state_dict()
    if set(state) != set(own):
        raise ValueError(
            f"{path / WEIGHTS_FILE}: keys {sorted(set(state) ^ set(own))} differ from the"
            " backbone's (is it a vgg16_backbone?)"
        )
    for key, value in state.items():
        if value.shape != own[key].shape:
            raise ValueError(
                f"{path / WEIGHTS_FILE}: {key} has shape {tuple(value.shape)}, the backbone's"
                f" is {tuple(own[key].shape)}"
            )
    backbone.load_state_dict(state)
    return config


# ----------------------------------------------------------------------------- training


def pretraining_batch(
    batch_size: int,
    image_size: tuple[int, int],
    feature_size: tuple[int, int],
    generator: torch.Generator,
) -> tuple[Tensor, dict[str, Tensor]]:
    """A batch of synthetic images (half of the batches flipped) and their cell targets."""
    from given.detection import batch_images

    images, boxes, kinds = synthetic_batch(batch_size, *image_size, generator)
    if bool(torch.rand((), generator=generator) < 0.5):  # horizontal flips: x' = W - x
        images, width = images.flip(-1), image_size[1]
        boxes = [
            torch.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], 1) for b in boxes
        ]
    return batch_images(images)[0], cell_targets(boxes, kinds, feature_size)


def pretrain(
    out_dir: str | Path,
    width: float = BackbonePretrainConfig.width,
    steps: int = BackbonePretrainConfig.steps,
    batch_size: int = BackbonePretrainConfig.batch_size,
    image_size: tuple[int, int] = BackbonePretrainConfig.image_size,
    learning_rate: float = BackbonePretrainConfig.learning_rate,
    seed: int = BackbonePretrainConfig.seed,
    max_minutes: float | None = BackbonePretrainConfig.max_minutes,
    impl: str = BackbonePretrainConfig.impl,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Trains ``vgg16_backbone(width)`` with :class:`DenseShapeHead` and saves the backbone.

    A recipe of the one training loop (``bam.train.fit``): Adam with a warm-up and a cosine
    decay over ``steps`` (``warmup_cosine``), a fresh synthetic batch per step (seeded by
    ``bam.train.loop.step_seed``, ``pretraining_batch``); an "epoch" of 50 steps (or a divisor of ``steps``)
    logs the mean losses. ``max_minutes`` stops early. Returns the saved config.
    """
    torch.manual_seed(seed)
    vgg = lesson_module("vgg", impl)
    from given.detection import init_from_scratch

    backbone = vgg.vgg16_backbone(width)
    init_from_scratch(backbone)
    head = DenseShapeHead(backbone_channels(backbone))
    model = nn.ModuleDict({"backbone": backbone, "head": head})
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    feature_size = vgg.feature_map_size(*image_size)
    per_epoch = math.gcd(steps, 50)
    started = time.perf_counter()
    done = [0]

    def batch(epoch: int, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        generator = torch.Generator().manual_seed(step_seed(seed, epoch, index))
        return pretraining_batch(batch_size, image_size, feature_size, generator)

    def step(batch: tuple[Tensor, dict[str, Tensor]]) -> dict[str, float]:
        images, targets = batch
        losses = pretraining_loss(head(backbone(images)), targets)
        optimizer.zero_grad(set_to_none=True)
        (losses["class"] + losses["size"] + losses["inside"]).backward()
        optimizer.step()
        done[0] += 1
        return {key: value.item() for key, value in losses.items()}

    recipe = Recipe(
        model=model, optimizer=optimizer, epochs=steps // per_epoch, steps_per_epoch=per_epoch,
        batch=batch, step=step, evaluate=lambda epoch, record: {},
        lr_factor=lambda step: warmup_cosine(step, steps),
        describe=lambda r: (
            f"step {r['epoch'] * per_epoch if not r.get('stopped') else done[0]}/{steps}  "
            + "  ".join(f"{key} {r[key]:.3f}" for key in ("class", "size", "inside") if key in r)
            + f"  ({time.perf_counter() - started:.0f} s)"
        ),
        seed=seed,
    )  # fmt: skip
    history = fit(recipe, None, log=log, progress=False, max_minutes=max_minutes)
    if history and history[-1].get("stopped"):
        log(f"stopping at the time limit ({max_minutes} min) after {done[0]} steps")
    last = history[-1] if history else {}
    config = {
        "architecture": "solutions.vgg.vgg16_backbone",
        "width": width,
        "image_size": list(image_size),
        "shape_kinds": list(SHAPE_KINDS),
        "seed": seed,
        "steps": done[0],
        "planned_steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seconds": round(time.perf_counter() - started, 1),
        "threads": torch.get_num_threads(),
        "final_losses": {
            key: round(last[key], 4) for key in ("class", "size", "inside") if key in last
        },
        "made_by": "bam pretrain backbone (bam/pipelines/backbone_pretraining.py)",
    }
    save_backbone(out_dir, backbone, config)
    return config
