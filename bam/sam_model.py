"""The Segment Anything model the course fine-tunes: a tiny configuration, loading, and inputs.

Lesson 4 fine-tunes transformers' ``SamModel``. The real checkpoints (``facebook/sam-vit-base``
and up) need a GPU and an internet download; the course ships a *tiny* SAM instead — the same
architecture (ViT image encoder, prompt encoder, two-way-transformer mask decoder) at 256x256
input, 2 layers and 64 channels, pretrained on synthetic shapes by ``bam pretrain sam`` and
saved under ``data/sam-tiny-pretrained/``. Everything here works for any ``save_pretrained``
directory, so a user with a real SAM on disk fine-tunes it with the same commands
(``bam train sam --checkpoint DIR``).

Notation:
    B           batch size
    H, W        image height and width (any size; the data of the course is 256x256)
    S           the model's input size (``model.config.vision_config.image_size``: 256 for the
                tiny model, 1024 for real SAM)
    h, w        size of the low-resolution masks the decoder returns (S/4 for every SAM)
    boxes       Tensor[B, 4] float, ``(x1, y1, x2, y2)`` in absolute pixels of the image
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers import (
    SamConfig,
    SamMaskDecoderConfig,
    SamModel,
    SamPromptEncoderConfig,
    SamVisionConfig,
)

from bam.configs import PRETRAINED_TINY_SAM

# the model inputs are given code of lesson 4: given.sam (the lessons import it from there)
from given.sam import sam_inputs

__all__ = [
    "load_sam",
    "low_resolution_logits",
    "probabilities",
    "tiny_sam",
    "tiny_sam_config",
]


def tiny_sam_config(image_size: int = 256, width: int = 64, layers: int = 2) -> SamConfig:
    """A SAM configuration small enough to train on a laptop CPU.

    The three parts must agree on the embedding width: the vision encoder's
    ``output_channels``, the prompt encoder's and the mask decoder's ``hidden_size`` are all
    ``width``, and the random-Fourier positional encoding has ``width // 2`` frequencies (its
    sines and cosines together make ``width`` channels).

    Args:
        image_size: side S of the (square) model input, in pixels; a multiple of 16.
        width: channels of every part of the model.
        layers: transformer layers of the image encoder and of the mask decoder.

    Returns:
        A ``SamConfig``; ``SamModel(config)`` builds a randomly initialised model of ~0.4 M
        parameters whose low-resolution masks are ``S/4 x S/4``.
    """
    if image_size % 16 != 0:
        raise ValueError(f"image_size must be a multiple of the patch size 16, got {image_size}")
    if width % 8 != 0:
        raise ValueError(f"width must be a multiple of 8 (attention heads), got {width}")
    vision = SamVisionConfig(
        hidden_size=width,
        output_channels=width,
        num_hidden_layers=layers,
        num_attention_heads=4,
        image_size=image_size,
        patch_size=16,
        window_size=8,
        global_attn_indexes=[layers - 1],  # local windows first, then one global layer
        num_pos_feats=width // 2,
        mlp_dim=4 * width,
        initializer_range=0.02,
    )
    prompt = SamPromptEncoderConfig(hidden_size=width, image_size=image_size, patch_size=16)
    decoder = SamMaskDecoderConfig(
        hidden_size=width,
        mlp_dim=4 * width,
        num_hidden_layers=layers,
        num_attention_heads=4,
        iou_head_hidden_dim=width,
    )
    return SamConfig(
        vision_config=vision.to_dict(),
        prompt_encoder_config=prompt.to_dict(),
        mask_decoder_config=decoder.to_dict(),
    )


def tiny_sam(seed: int = 0, **config_options: int) -> SamModel:
    """A randomly initialised tiny SAM, the same for the same seed (global RNG untouched).

    Args:
        seed: seed of the initial weights.
        **config_options: passed to :func:`tiny_sam_config` (``image_size``, ``width``, ``layers``).

    Returns:
        A ``SamModel`` in training mode, on the CPU.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SamModel(tiny_sam_config(**config_options))
        # transformers initialises for loading pretrained weights over it, not for training
        # from scratch: every layer gets std 0.02 (at width 64 the output starts ~1e-4 and the
        # gradients vanish), and the random Fourier frequencies of the positional encoding get
        # std hidden_size / 2 (~30 cycles across the image: positions look like noise, a box
        # cannot be located). Use what the original SAM code trains from: PyTorch's default
        # (fan-in scaled) layer initialisation and frequencies of std 1.
        for module in model.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                module.reset_parameters()
        with torch.no_grad():
            model.shared_image_embedding.positional_embedding.normal_(0.0, 1.0)
        return model


def load_sam(
    path: str | Path = PRETRAINED_TINY_SAM, device: str | torch.device = "cpu"
) -> SamModel:
    """Loads a SAM saved with ``save_pretrained`` (the course's tiny one, or a real checkpoint).

    Args:
        path: a folder holding ``config.json`` and ``model.safetensors`` (or
            ``pytorch_model.bin``), e.g. ``data/sam-tiny-pretrained`` or a local copy of
            ``facebook/sam-vit-base``. Nothing is downloaded.
        device: where to put the model.

    Returns:
        The ``SamModel``, in training mode.

    Raises:
        FileNotFoundError: if ``path`` is not a folder with a ``config.json``.
        ValueError: if the folder holds a model that is not a SAM.
    """
    folder = Path(path)
    if not (folder / "config.json").is_file():
        hint = (
            " (run `bam pretrain sam` to make the course's tiny SAM)"
            if folder.resolve() == PRETRAINED_TINY_SAM
            else ""
        )
        raise FileNotFoundError(
            f"{folder} is not a saved model: expected a folder with config.json and"
            f" model.safetensors, as written by SamModel.save_pretrained{hint}"
        )
    try:
        model = SamModel.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"could not load a SAM from {folder}: {error}") from error
    if not isinstance(model, SamModel):
        raise ValueError(f"{folder} holds a {type(model).__name__}, not a SamModel")
    model.train()
    return model.to(device)


def low_resolution_logits(model: SamModel, images: Tensor, boxes: Tensor) -> Tensor:
    """One mask per box prompt, as the decoder's low-resolution logits (given code for tools).

    Args:
        images: Tensor[B, 3, H, W] float in [0, 1].
        boxes: Tensor[B, 4] float, ``(x1, y1, x2, y2)`` in pixels of the images.

    Returns:
        Tensor[B, h, w]: logits of the single-mask output (``multimask_output=False``).
    """
    pixel_values, input_boxes = sam_inputs(model, images, boxes)
    outputs = model(pixel_values=pixel_values, input_boxes=input_boxes, multimask_output=False)
    return outputs.pred_masks[:, 0, 0]  # [B, h, w]


def probabilities(model: SamModel, images: Tensor, boxes: Tensor) -> Tensor:
    """Per-pixel probability of the prompted object, at image resolution, without gradients.

    Args:
        images: Tensor[B, 3, H, W] float in [0, 1].
        boxes: Tensor[B, 4] float, ``(x1, y1, x2, y2)`` in pixels of the images.

    Returns:
        Tensor[B, H, W] float in [0, 1] on the model's device.
    """
    with torch.no_grad():
        logits = low_resolution_logits(model, images, boxes)[:, None]  # [B, 1, h, w]
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(logits[:, 0])
