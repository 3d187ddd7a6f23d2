"""The one shape drawer (``bam.data.shape_drawer``): areas, numpy and torch alike, bad kinds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bam.data.shape_drawer import SHAPE_KINDS, shape_mask

EXTENT = 200.0  # px: large, so the pixel count is within 1% of the area
AREAS = {  # exact areas of each kind EXTENT across (half = EXTENT / 2)
    "circle": math.pi * (EXTENT / 2) ** 2,
    "square": EXTENT**2,
    "triangle": math.sqrt(3) / 4 * EXTENT**2,
    "ellipse": math.pi * (EXTENT / 2) * (EXTENT / 2 * 0.5),
    "cross": 2.31 * (EXTENT / 2) ** 2,  # two 2h x 0.7h bars less their 0.7h x 0.7h overlap
    "ring": math.pi * (EXTENT / 2) ** 2 * (1 - 0.55**2),
}


def grids(size: int = 260) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.arange(size) + 0.5 - size / 2
    return offsets[None, :], offsets[:, None]


@pytest.mark.parametrize("kind", range(len(SHAPE_KINDS)), ids=SHAPE_KINDS)
def test_area_of_each_kind(kind):
    dx, dy = grids()
    mask = shape_mask(kind, dx, dy, EXTENT, angle=0.3, aspect=0.5)
    assert mask.dtype == bool and mask.shape == (260, 260)
    assert mask.sum() == pytest.approx(AREAS[SHAPE_KINDS[kind]], rel=0.01)


@pytest.mark.parametrize("kind", range(len(SHAPE_KINDS)), ids=SHAPE_KINDS)
def test_numpy_and_torch_draw_the_same_pixels(kind):
    dx, dy = grids(64)
    drawn = shape_mask(kind, dx, dy, 40.0, angle=1.1, aspect=0.6)
    in_torch = shape_mask(kind, torch.from_numpy(dx), torch.from_numpy(dy), 40.0, 1.1, 0.6)
    assert isinstance(in_torch, torch.Tensor) and in_torch.dtype == torch.bool
    np.testing.assert_array_equal(in_torch.numpy(), drawn)


def test_the_turn_turns_the_square():
    dx, dy = grids(64)
    upright, turned = shape_mask(1, dx, dy, 30.0), shape_mask(1, dx, dy, 30.0, math.pi / 4)
    assert upright[32, 32 + 14] and not upright[32, 32 + 17]  # the side at 15 px
    assert turned[32, 32 + 20] and not upright[32, 32 + 20]  # the corner at 21 px


@pytest.mark.parametrize("kind", [-1, len(SHAPE_KINDS)])
def test_unknown_kind_is_refused(kind):
    dx, dy = grids(8)
    with pytest.raises(ValueError, match="kind should be"):
        shape_mask(kind, dx, dy, 4.0)


def torch_grids(size: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    offsets = torch.arange(size, dtype=torch.float32) + 0.5 - size / 2
    return offsets.view(1, size).expand(size, size), offsets.view(size, 1).expand(size, size)


def test_polygon_is_its_area_whichever_way_it_turns():
    from bam.data.shape_drawer import polygon_mask

    dx, dy = torch_grids()
    square = torch.tensor([[-50.0, -50.0], [50.0, -50.0], [50.0, 50.0], [-50.0, 50.0]])
    assert polygon_mask(dx, dy, square).sum() == 100 * 100
    assert polygon_mask(dx, dy, square.flip(0)).sum() == 100 * 100
    triangle = torch.tensor([[0.0, -60.0], [60.0, 40.0], [-60.0, 40.0]])
    assert float(polygon_mask(dx, dy, triangle).sum()) == pytest.approx(0.5 * 120 * 100, rel=0.01)


def test_blob_without_wobble_is_a_disc_and_wobbles_out_and_in():
    from bam.data.shape_drawer import blob_mask

    dx, dy = torch_grids()
    disc = blob_mask(dx, dy, 60.0, torch.zeros(3), torch.zeros(3))
    assert torch.equal(disc, torch.from_numpy(shape_mask(0, dx.numpy(), dy.numpy(), 120.0)) | disc)
    assert float(disc.sum()) == pytest.approx(math.pi * 60**2, rel=0.01)
    wobbly = blob_mask(dx, dy, 60.0, torch.tensor([0.0, 0.3]), torch.zeros(2))  # 2nd harmonic
    assert wobbly[100, 100 + 75] and not wobbly[100 + 50, 100]  # 78 px along x, 42 along y


def test_band_is_length_times_width():
    from bam.data.shape_drawer import band_mask

    xx, yy = torch_grids()
    line = torch.tensor([[-60.0, 0.0], [0.0, 0.0], [60.0, 0.0]])
    band = band_mask(xx, yy, line, 10.0)
    assert band.shape == (200, 200)
    assert float(band.sum()) == pytest.approx(120 * 10 + math.pi * 5**2, rel=0.03)  # round ends
