"""Pretraining the course's tiny SAM on synthetic shapes (``bam pretrain sam``).

A real SAM learnt "segment the thing in the box" from 11 million images; lesson 4 then adapts
that foundation model to a new domain (water bodies) by training only its mask decoder. The
course cannot download a real SAM, so it makes its own small foundation model: the whole tiny
SAM (:func:`bam.sam_model.tiny_sam_config`) is trained here on generic shapes drawn on the fly —
ellipses, polygons, blobs and thin curved strokes in textured materials on textured
backgrounds, with distractor shapes around them and a (jittered) box prompt around the target.
None of it is water: the fine-tuning lesson is what teaches the model that domain.

A tiny SAM trained from scratch on the water set alone sits at chance for many epochs before it
starts to learn; pretrained, its decoder adapts in minutes.

Notation:
    S           image side (the model input size, 256)
    B           batch size
    boxes       Tensor[B, 4] float, ``(x1, y1, x2, y2)`` in pixel edges (pixel ``i`` spans
                ``[i, i + 1)``), tight box with each side moved by up to ``jitter`` px
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from bam.configs import SamPretrainConfig
from bam.data.sam_shapes import synthetic_batch
from bam.sam_model import load_sam, tiny_sam
from bam.train import Recipe, fit
from bam.train.loop import step_seed
from bam.train.schedules import warmup_cosine
from given.sam import input_size, sam_inputs

# ----------------------------------------------------------------------------- training


def _dice_ce(logits: Tensor, target: Tensor) -> Tensor:
    """Soft Dice + binary cross-entropy on logits [B, H, W] (the loss of lesson 3)."""
    target = target.float()
    probability = torch.sigmoid(logits)
    intersection = (probability * target).sum(dim=(-2, -1))
    total = probability.sum(dim=(-2, -1)) + target.sum(dim=(-2, -1))
    dice = 1 - (2 * intersection + 1e-5) / (total + 1e-5)
    return dice.mean() + F.binary_cross_entropy_with_logits(logits, target)


def _mean_iou(logits: Tensor, target: Tensor) -> float:
    pred = logits > 0
    intersection = (pred & target).sum(dim=(-2, -1)).float()
    union = (pred | target).sum(dim=(-2, -1)).clamp(min=1).float()
    return float((intersection / union).mean())


def _forward(model: torch.nn.Module, images: Tensor, boxes: Tensor) -> Tensor:
    """Logits [B, K, S, S] for K box prompts per image (boxes [B, K, 4] in pixels of the input)."""
    pixel_values, _ = sam_inputs(model, images, boxes[:, 0])
    outputs = model(pixel_values=pixel_values, input_boxes=boxes, multimask_output=False)
    low_res = outputs.pred_masks[:, :, 0]  # [B, K, h, w]
    return F.interpolate(low_res, size=images.shape[-2:], mode="bilinear", align_corners=False)


def _validation_iou(model: torch.nn.Module, validation: tuple[Tensor, Tensor, Tensor]) -> float:
    model.eval()
    with torch.no_grad():
        iou = _mean_iou(_forward(model, validation[0], validation[2]), validation[1])
    model.train()
    return iou


def pretrain(
    out_dir: str | Path,
    steps: int = SamPretrainConfig.steps,
    batch_size: int = SamPretrainConfig.batch_size,
    learning_rate: float = SamPretrainConfig.learning_rate,
    seed: int = SamPretrainConfig.seed,
    max_minutes: float | None = SamPretrainConfig.max_minutes,
    log: Callable[[str], None] = print,
    init: str | Path | None = SamPretrainConfig.init,
) -> dict[str, float]:
    """Trains a tiny SAM from scratch on synthetic shapes and saves it with ``save_pretrained``.

    A recipe of the one training loop (``bam.train.fit``): AdamW with a linear warm-up and a
    cosine decay; DiceCE loss on the full-resolution (bilinearly upsampled) single-mask output;
    each step's images drawn from ``(seed, step)``. Validated and saved to ``out_dir`` every 100
    steps (one "epoch") and at the end: an interrupted run still leaves a usable model.

    Args:
        out_dir: folder to write ``config.json`` and ``model.safetensors`` into.
        steps: optimiser steps.
        batch_size: images per step.
        learning_rate: peak learning rate.
        seed: seeds the weights and the stream of synthetic images.
        max_minutes: stop early after this many minutes (the schedule still assumes ``steps``).
        log: where progress lines go.
        init: a saved model to continue from (a new stage: fresh schedule; use another seed).

    Returns:
        ``{"steps": ..., "seconds": ..., "validation_iou": ...}`` of the saved model.
    """
    out = Path(out_dir)
    size = 256
    model = tiny_sam(seed=seed, image_size=size) if init is None else load_sam(init)
    if input_size(model) != size:
        raise ValueError(
            f"pretraining draws {size}x{size} images; {init} takes {input_size(model)}"
        )
    model.train()
    validation = synthetic_batch(12, size, torch.Generator().manual_seed(seed + 10_000))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    per_epoch = math.gcd(steps, 100)  # validate and save every 100 steps
    start = time.monotonic()
    done = [0]  # steps taken
    validate = functools.partial(_validation_iou, model, validation)

    def batch(epoch: int, index: int) -> tuple[Tensor, Tensor, Tensor]:
        generator = torch.Generator().manual_seed(step_seed(seed, epoch, index))
        return synthetic_batch(batch_size, size, generator)

    def step(batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, float]:
        images, masks, boxes = batch
        loss = _dice_ce(_forward(model, images, boxes), masks)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        done[0] += 1
        return {"loss": loss.item()}

    recipe = Recipe(
        model=model, optimizer=optimizer, epochs=steps // per_epoch, steps_per_epoch=per_epoch,
        batch=batch, step=step, evaluate=lambda epoch, record: {"validation_iou": validate()},
        lr_factor=lambda step: warmup_cosine(step, steps, floor=0.05),
        describe=lambda r: (
            f"step {r['epoch'] * per_epoch}/{steps}: loss {r['loss']:.3f},"
            f" {(time.monotonic() - start) / 60:.1f} min, validation IoU {r['validation_iou']:.3f}"
        ),
        after_epoch=lambda history: model.save_pretrained(out),
        seed=seed,
    )  # fmt: skip
    log(f"step 0: validation IoU {validate():.3f}")
    history = fit(recipe, None, log=log, progress=False, max_minutes=max_minutes)
    if history and history[-1].get("stopped"):
        log(f"stopping after {max_minutes} minutes")
    model.save_pretrained(out)
    return {
        "steps": done[0],
        "seconds": time.monotonic() - start,
        "validation_iou": history[-1]["validation_iou"] if history else validate(),
    }
