"""Lesson 4 — fine-tuning Segment Anything (SAM) with box prompts.

SAM segments "the thing you point at": an image encoder (a ViT) turns the image into an
embedding once, a prompt encoder turns a box (or points) into tokens, and a light mask decoder
combines the two into a mask. A foundation model like this is adapted to a new domain — here,
water bodies seen from above — by keeping its encoders and training only the decoder. This
lesson builds the pieces of that fine-tuning: the box prompt made from a ground-truth mask, the
freezing, the step from the decoder's low-resolution output to image-size logits, one training
step, and prediction.

Notation:
    B           batch size
    H, W        image height and width in pixels
    h, w        size of the decoder's low-resolution masks (the model input side / 4)
    mask        Tensor[H, W] bool or {0, 1} float; masks Tensor[B, H, W]
    box         Tensor[4] float ``(x1, y1, x2, y2)``, absolute pixels, continuous pixel edges
                (pixel ``i`` spans ``[i, i + 1)``: the box of a one-pixel mask at column x, row y
                is ``(x, y, x + 1, y + 1)``); boxes Tensor[B, 4]
    logits      raw scores before the sigmoid; probability = sigmoid(logits)
    model       a transformers ``SamModel`` (see ``bam.sam_model``); ``given.sam.sam_inputs``
                turns images in [0, 1] and boxes into its ``pixel_values`` and ``input_boxes``
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given.sam import sam_inputs

from . import metrics

__all__ = ["box_prompt", "freeze_for_finetuning", "predict_masks", "train_step", "upsample_logits"]


def box_prompt(mask: Tensor, jitter: int = 0, generator: torch.Generator | None = None) -> Tensor:
    """The box prompt of a ground-truth mask: its tight box, each side moved by up to ``jitter``.

    Boxes are continuous pixel-edge coordinates (pixel ``i`` spans ``[i, i + 1)``). At
    ``jitter=0`` the box is tight: ``x1`` is the first column holding mask pixels and ``x2`` the
    last one plus 1 (its right edge), ``y1``/``y2`` likewise for rows — torchvision's
    ``masks_to_boxes`` plus ``(0, 0, 1, 1)``. With ``jitter > 0`` each of the four sides moves
    independently by a random whole number of pixels in ``[-jitter, jitter]`` (out or in: a
    prompt drawn by a person is never exact), then the box is clamped to the image
    (``0 <= x <= W``, ``0 <= y <= H``) and kept valid (``x1 <= x2``, ``y1 <= y2``).

    Args:
        mask: Tensor[H, W] bool or {0, 1} float, with at least one pixel set.
        jitter: largest move of a side, in pixels (``>= 0``).
        generator: the random source for the moves (reproducible boxes); ``None`` uses torch's
            global generator.

    Returns:
        Tensor[4] float32 ``(x1, y1, x2, y2)`` on the mask's device.

    Raises:
        ValueError: if the mask is not 2-D, is empty, or ``jitter`` is negative.
    """
    # TODO: find the first and last rows and columns that hold mask pixels (torch.nonzero of
    #   mask.any(dim=...)); the tight box is (first column, first row, last column + 1, last row
    #   + 1) — x is a column, y a row, x2/y2 the far edges of the last pixels. If
    #   jitter > 0, add one random whole number in [-jitter, jitter] per side, drawn with
    #   `generator`. Then clamp to the image and make sure x1 <= x2 and y1 <= y2. Check the
    #   input first (2-D, not empty, jitter >= 0).
    raise NotImplementedError


def freeze_for_finetuning(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Freezes everything but the mask decoder; returns the parameters left to train.

    The image encoder (``model.vision_encoder``), the prompt encoder (``model.prompt_encoder``)
    and the positional encoding they share (``model.shared_image_embedding``) keep their
    pretrained weights; the mask decoder (``model.mask_decoder``) is the only trainable part.

    Args:
        model: a ``SamModel``; changed in place (``requires_grad`` of its parameters).

    Returns:
        The mask decoder's parameters (all with ``requires_grad=True``), to hand to an
        optimiser.
    """
    # TODO: set requires_grad to False on every parameter of the model, then back to True on the
    #   mask decoder's (model.mask_decoder); return the list of the decoder's parameters.
    raise NotImplementedError


def upsample_logits(low_res_logits: Tensor, size: Sequence[int]) -> Tensor:
    """Resizes mask logits to the image size, bilinearly.

    Upsample the *logits*, not thresholded masks: interpolating scores keeps smooth, sub-pixel
    boundaries, and a sigmoid or threshold applied afterwards works at full resolution. Corners
    are not aligned (``align_corners=False``): pixel centres map as in SAM's post-processing.

    Args:
        low_res_logits: Tensor[B, h, w] float.
        size: ``(H, W)``, the image height and width.

    Returns:
        Tensor[B, H, W], same dtype and device; differentiable.
    """
    # TODO: F.interpolate wants a channel dimension: add one, resize to (H, W) with bilinear
    #   interpolation (which align_corners does SAM use?), then remove it again.
    raise NotImplementedError


def train_step(
    model: torch.nn.Module,
    batch: dict[str, Tensor],
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> float:
    """One optimisation step of SAM on a batch of images with box prompts.

    Clears the gradients left from before, runs the model on the batch with its box prompts and
    ``multimask_output=False`` (one mask per box), upsamples the logits to the image size,
    computes the loss against the ground-truth masks, backpropagates and takes one optimiser
    step.

    Args:
        model: a ``SamModel`` (frozen or not: the optimiser decides what is trained).
        batch: ``{"images": Tensor[B, 3, H, W] float in [0, 1], "masks": Tensor[B, H, W]
            (bool or {0, 1}), "boxes": Tensor[B, 4] float (x1, y1, x2, y2) in image pixels}``.
        optimizer: holds the parameters to train.
        loss_fn: ``loss_fn(logits [B, H, W], target [B, H, W] float) -> Tensor[]``; by default
            ``dice_ce_loss`` from lesson 3 (the ``metrics`` module next to this one).

    Returns:
        The loss of the batch before the step, as a Python float.
    """
    # TODO: zero the gradients; given.sam.sam_inputs gives pixel_values and input_boxes; call
    #   the model with them and multimask_output=False; its pred_masks are [B, 1, 1, h, w];
    #   upsample to the masks' size; loss, backward, step; return a float.
    raise NotImplementedError


def predict_masks(
    model: torch.nn.Module, images: Tensor, boxes: Tensor, threshold: float = 0.5
) -> Tensor:
    """SAM's mask for each box prompt, at image resolution.

    Runs the model without gradients (``multimask_output=False``), upsamples the logits to the
    image size, turns them into probabilities with a sigmoid and keeps the pixels whose
    probability is above ``threshold``.

    Args:
        model: a ``SamModel``.
        images: Tensor[B, 3, H, W] float in [0, 1].
        boxes: Tensor[B, 4] float ``(x1, y1, x2, y2)`` in image pixels, one prompt per image.
        threshold: probability above which a pixel belongs to the mask.

    Returns:
        Tensor[B, H, W] bool on the model's device.
    """
    # TODO: under torch.no_grad(): the same forward pass as in train_step, upsampled to the images'
    #   size; compare probabilities (not logits) with the threshold.
    raise NotImplementedError
