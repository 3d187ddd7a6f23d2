"""The figures of lessons 1 and 2 (bam.plots.data) draw from the bundled data and any folder."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bam.plots import all_figures
from bam.plots.data import FIGURES, water_contact_sheet


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_draws(name):
    figure = FIGURES[name]()
    assert isinstance(figure, Figure) and figure.axes
    assert all_figures()[name] is FIGURES[name]


def test_contact_sheet_of_another_folder(tmp_path):
    (tmp_path / "Images").mkdir()
    (tmp_path / "Masks").mkdir()
    for index in range(3):
        Image.fromarray(np.full((30, 40, 3), 90 * index, np.uint8)).save(
            tmp_path / "Images" / f"{index}.png"
        )
        mask = np.zeros((30, 40), np.uint8)
        mask[5 : 10 + index, 3:20] = 255
        Image.fromarray(mask).save(tmp_path / "Masks" / f"{index}.png")
    figure = water_contact_sheet(tmp_path, count=16, columns=4)
    assert len([axes for axes in figure.axes if axes.images]) == 3
