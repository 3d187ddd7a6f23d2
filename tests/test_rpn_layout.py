"""The given ``flatten_rpn_outputs`` puts the head's outputs in torchvision's anchor order."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.detection.rpn import concat_box_prediction_layers

from given.rpn_layout import flatten_rpn_outputs


def test_flatten_matches_torchvision_layout():
    objectness = torch.randn(2, 3, 4, 5)
    deltas = torch.randn(2, 12, 4, 5)
    flat_objectness, flat_deltas = flatten_rpn_outputs(objectness, deltas)
    expected_objectness, expected_deltas = concat_box_prediction_layers([objectness], [deltas])
    assert torch.equal(flat_objectness.reshape(-1), expected_objectness.reshape(-1))
    assert torch.equal(flat_deltas.reshape(-1, 4), expected_deltas)


def test_flatten_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="deltas should have shape"):
        flatten_rpn_outputs(torch.zeros(1, 3, 4, 5), torch.zeros(1, 8, 4, 5))
