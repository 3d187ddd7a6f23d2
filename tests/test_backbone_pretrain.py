"""Tests of ``bam pretrain backbone`` and of loading its weights into the detectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bam.configs import PRETRAINED_BACKBONE, TrainConfig
from bam.data.backbone_shapes import SHAPE_KINDS, synthetic_batch
from bam.pipelines.backbone_pretraining import (
    cell_targets,
    load_backbone_weights,
    pretrain,
    save_backbone,
)
from bam.pipelines.detector import load_pretrained_backbone, resolve_backbone_weights
from solutions.detector import FasterRCNN
from solutions.vgg import vgg16_backbone


def test_synthetic_batch_is_seeded_and_boxes_are_valid():
    """The same seed draws the same images; boxes lie inside the image with x2 > x1, y2 > y1."""
    first = synthetic_batch(3, 120, 160, torch.Generator().manual_seed(5))
    second = synthetic_batch(3, 120, 160, torch.Generator().manual_seed(5))
    images, boxes, kinds = first
    assert images.shape == (3, 3, 120, 160) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, second[0])
    for image_boxes, image_kinds in zip(boxes, kinds, strict=True):
        assert len(image_boxes) == len(image_kinds) >= 1
        assert bool((image_boxes[:, 2:] > image_boxes[:, :2]).all())
        assert bool((image_boxes >= 0).all()) and bool((image_boxes[:, 2] <= 160).all())
        assert bool((image_kinds >= 0).all()) and bool((image_kinds < len(SHAPE_KINDS)).all())


def test_cell_targets_hand_computed():
    """A 32x32 box centred at (40, 24) marks cell (1, 2) with its kind, offset and log size."""
    boxes = [torch.tensor([[24.0, 8.0, 56.0, 40.0]])]
    classes, sizes, inside = cell_targets(boxes, [torch.tensor([4])], (3, 4))
    expected = torch.zeros(3, 4, dtype=torch.int64)
    expected[1, 2] = 5
    assert torch.equal(classes[0], expected)
    # centre (40, 24), cell centre (40, 24): no offset; 32 / 16 = 2 cells wide and high
    assert torch.allclose(sizes[0, :, 1, 2], torch.tensor([0.0, 0.0, 0.6931, 0.6931]), atol=1e-4)
    # cell centres x in {8, 24, 40, 56}, y in {8, 24, 40}: inside (24, 56) x (8, 40) strictly
    assert inside[0].nonzero().tolist() == [[1, 2]]


def test_save_load_round_trip_and_clear_errors(tmp_path):
    """Saved weights load back exactly; a width or shape mismatch is a ValueError naming it."""
    backbone = vgg16_backbone(0.0625)
    save_backbone(tmp_path, backbone, {"width": 0.0625})
    fresh = vgg16_backbone(0.0625)
    load_backbone_weights(fresh, tmp_path, 0.0625)
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, fresh.state_dict()[key])
    with pytest.raises(ValueError, match=r"width 0\.0625"):
        load_backbone_weights(vgg16_backbone(0.125), tmp_path, 0.125)
    (tmp_path / "config.json").write_text(json.dumps({"width": 0.125}))
    with pytest.raises(ValueError, match="shape"):
        load_backbone_weights(vgg16_backbone(0.125), tmp_path, 0.125)
    with pytest.raises(FileNotFoundError, match="bam pretrain backbone"):
        load_backbone_weights(vgg16_backbone(0.125), tmp_path / "missing", 0.125)


def test_pretrain_writes_a_loadable_backbone(tmp_path):
    """Two steps of pretraining save a backbone that a detector of that width loads."""
    config = pretrain(tmp_path, width=0.0625, steps=2, batch_size=2, image_size=(64, 96), log=str)
    assert config["steps"] == 2 and config["width"] == 0.0625
    assert (tmp_path / "model.safetensors").stat().st_size < 5_000_000
    run = TrainConfig(width=0.0625, hidden=32, backbone_weights=str(tmp_path))
    assert resolve_backbone_weights(run) == str(tmp_path)
    model = FasterRCNN(4, width=0.0625, hidden=32)
    load_pretrained_backbone(model, run)
    from safetensors.torch import load_file

    saved = load_file(str(tmp_path / "model.safetensors"))
    assert torch.equal(model.backbone.state_dict()["0.weight"], saved["0.weight"])


def test_auto_picks_the_bundled_weights_only_for_their_width():
    """``auto`` is the bundled folder at its own width and ``none`` at any other."""
    assert resolve_backbone_weights(TrainConfig(width=0.3, backbone_weights="auto")) == "none"
    assert resolve_backbone_weights(TrainConfig(backbone_weights="none")) == "none"
    if not (PRETRAINED_BACKBONE / "config.json").is_file():
        pytest.skip("data/vgg-tiny-pretrained is not in this copy")
    width = json.loads((PRETRAINED_BACKBONE / "config.json").read_text())["width"]
    assert resolve_backbone_weights(TrainConfig(width=width)) == str(PRETRAINED_BACKBONE)
    assert Path(PRETRAINED_BACKBONE / "model.safetensors").stat().st_size < 5_000_000
    load_backbone_weights(vgg16_backbone(width), PRETRAINED_BACKBONE, width)
