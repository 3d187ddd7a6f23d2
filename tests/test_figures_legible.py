"""Every figure of ``bam.plots`` stays readable where the site shows it.

A figure is saved by ``bam.plots.save_figures`` (its default dpi, ``bbox_inches="tight"``) and
shown by the site at most as wide as the content column (``max-width: 100%`` in
docs/stylesheets/extra.css). At a 1280 px wide window Material's column is 688 CSS px (61rem grid
minus both 12.1rem sidebars and the 1.2rem margins; measured in headless Chromium on the built
site, ``article.md-content__inner`` at ``--window-size=1280,900``), so a PNG wider than 688 px is
scaled down and its text with it. A text of ``size`` points is drawn ``size * dpi / 72`` pixels
high in the file and ``688 / png_width`` of that on the page.

The floor is 9 px: below it sans-serif glyphs at 1x device pixels lose their counters and the
stems of ``i``, ``l`` and ``1`` merge (9 px is also the smallest size browsers' minimum-font-size
settings allow). Every text the renderer actually draws counts (titles, labels, annotations,
legends, tick labels); empty strings and invisible artists are never drawn, so they do not.
"""

from __future__ import annotations

import inspect
import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib.pyplot as plt
import pytest
from matplotlib.backends.backend_agg import RendererAgg

from bam.plots import all_figures, save_figures

COLUMN_PX = 688  # the content column at a 1280 px window (see the module docstring)
FLOOR_PX = 9.0
DPI = inspect.signature(save_figures).parameters["dpi"].default


@contextmanager
def recorded_text() -> Iterator[list[tuple[str, float]]]:
    """Records ``(text, size in points)`` of every string the Agg renderer draws meanwhile."""
    drawn: list[tuple[str, float]] = []
    original = RendererAgg.draw_text

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if s.strip():
            drawn.append((s, prop.get_size_in_points()))
        return original(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    RendererAgg.draw_text = draw_text
    try:
        yield drawn
    finally:
        RendererAgg.draw_text = original


def saved_text_sizes(name: str) -> tuple[int, list[tuple[str, float]]]:
    """Saves figure ``name`` as the docs build does; returns the PNG's width and its texts."""
    figure = all_figures()[name]()
    buffer = io.BytesIO()
    try:
        with recorded_text() as drawn:
            figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(figure)
    (width,) = struct.unpack(">I", buffer.getvalue()[16:20])  # the IHDR chunk's width
    return width, drawn


def effective_px(size_pt: float, png_width: int) -> float:
    """How many CSS pixels high a ``size_pt`` text is on the page."""
    return size_pt * DPI / 72 * min(1.0, COLUMN_PX / png_width)


def test_effective_size_of_hand_computed_cases() -> None:
    """72 pt is ``DPI`` px in the file; a PNG twice the column's width is shown at half size,
    one narrower than the column at its own size (never enlarged)."""
    assert effective_px(72, 2 * COLUMN_PX) == pytest.approx(DPI / 2)
    assert effective_px(72, COLUMN_PX) == pytest.approx(DPI)
    assert effective_px(72, COLUMN_PX // 2) == pytest.approx(DPI)


def test_recorder_sees_tick_labels_and_skips_hidden_text() -> None:
    """The recorder counts what is drawn: tick labels yes; empty or invisible texts no."""
    figure, axes = plt.subplots(figsize=(2, 2))
    axes.set_xticks([0, 1], ["zero", "one"], fontsize=5)
    axes.text(0.5, 0.5, "hidden", fontsize=3).set_visible(False)
    axes.set_title(" ", fontsize=2)
    with recorded_text() as drawn:
        figure.savefig(io.BytesIO(), format="png", dpi=DPI)
    plt.close(figure)
    texts = {text for text, _ in drawn}
    assert {"zero", "one"} <= texts and "hidden" not in texts and " " not in texts
    assert dict(drawn)["zero"] == pytest.approx(5)


@pytest.mark.parametrize("name", sorted(all_figures()))
def test_smallest_text_is_legible_in_the_column(name: str) -> None:
    """The figure's smallest drawn text is at least FLOOR_PX CSS pixels high on the page."""
    width, drawn = saved_text_sizes(name)
    assert drawn, f"{name}: no text drawn (the recorder saw nothing)"
    sizes = {(effective_px(size, width), text) for text, size in drawn}
    small = sorted((px, text) for px, text in sizes if px < FLOOR_PX)
    assert not small, (
        f"figure {name!r} ({width} px wide, shown at most {COLUMN_PX} px): text below"
        f" {FLOOR_PX:g} px: "
        + "; ".join(f"{text!r} at {px:.1f} px" for px, text in small[:6])
        + (f" and {len(small) - 6} more" if len(small) > 6 else "")
    )
