"""The given SAM code: the tiny configuration, loading saved models, model inputs, the shipped weights."""

from __future__ import annotations

import pytest
import torch

from bam.configs import PRETRAINED_TINY_SAM
from bam.sam_model import load_sam, tiny_sam, tiny_sam_config
from given.sam import IMAGE_MEAN, IMAGE_STD, sam_inputs


def forward(model, images, boxes):
    pixel_values, input_boxes = sam_inputs(model, images, boxes)
    return model(
        pixel_values=pixel_values, input_boxes=input_boxes, multimask_output=False
    ).pred_masks


def test_tiny_config_parts_agree():
    config = tiny_sam_config()
    width = config.prompt_encoder_config.hidden_size
    assert config.vision_config.output_channels == width == config.mask_decoder_config.hidden_size
    assert config.vision_config.num_pos_feats == width // 2
    assert config.prompt_encoder_config.image_size == config.vision_config.image_size == 256
    with pytest.raises(ValueError, match="multiple of the patch size"):
        tiny_sam_config(image_size=100)


def test_tiny_sam_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    first, second = (
        tiny_sam(seed=3, image_size=64, width=32),
        tiny_sam(seed=3, image_size=64, width=32),
    )
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    # trainable from scratch: positional frequencies of std ~1, not hidden_size / 2
    assert first.shared_image_embedding.positional_embedding.std() < 3


def test_load_sam_round_trip(tmp_path):
    model = tiny_sam(seed=1, image_size=64, width=32).eval()
    model.save_pretrained(tmp_path / "saved")
    loaded = load_sam(tmp_path / "saved").eval()
    images = torch.rand(2, 3, 40, 56)
    boxes = torch.tensor([[2.0, 3.0, 30.0, 20.0], [10.0, 0.0, 55.0, 39.0]])
    with torch.no_grad():
        expected = forward(model, images, boxes)
        got = forward(loaded, images, boxes)
    assert got.shape == (2, 1, 1, 16, 16)
    assert torch.allclose(got, expected, atol=1e-6)


def test_load_sam_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        load_sam(tmp_path / "nowhere")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="broken"):
        load_sam(tmp_path / "broken")


def test_sam_inputs_scale_boxes_and_normalise():
    model = tiny_sam(image_size=64, width=32)
    images = torch.full((1, 3, 32, 128), 0.5)
    pixel_values, input_boxes = sam_inputs(model, images, torch.tensor([[64.0, 16.0, 128.0, 32.0]]))
    assert pixel_values.shape == (1, 3, 64, 64)
    expected = (0.5 - torch.tensor(IMAGE_MEAN)) / torch.tensor(IMAGE_STD)
    assert torch.allclose(pixel_values[0, :, 5, 5], expected, atol=1e-6)
    assert torch.equal(input_boxes, torch.tensor([[[32.0, 32.0, 64.0, 64.0]]]))
    with pytest.raises(ValueError, match="one box per image"):
        sam_inputs(model, images, torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"Tensor\[B, 3, H, W\]"):
        sam_inputs(model, torch.zeros(3, 32, 32), torch.zeros(1, 4))


def test_shipped_pretrained_tiny_sam_loads():
    files = {path.name: path.stat().st_size for path in PRETRAINED_TINY_SAM.iterdir()}
    assert "config.json" in files and "model.safetensors" in files
    assert files["model.safetensors"] < 5_000_000  # a few MB, fine for git
    model = load_sam().eval()
    images, boxes = torch.rand(1, 3, 256, 256), torch.tensor([[40.0, 50.0, 200.0, 180.0]])
    with torch.no_grad():
        masks = forward(model, images, boxes)
    assert masks.shape == (1, 1, 1, 64, 64) and torch.isfinite(masks).all()
