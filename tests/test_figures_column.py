"""The column width that test_figures_legible assumes is the one the built site really has.

test_figures_legible computes each figure's text size on the page from ``COLUMN_PX``, the
content column at a 1280 px window. A theme update or a stylesheet change could widen or narrow
that column and leave the constant stale; this opens the strictly built site in headless
Chromium (as test_docs_browser does, with its fixtures) and measures the column on every lesson
page and the figures page, and the width every figure of ``bam.plots`` is drawn at: never more
than the column, and ``min(1, COLUMN_PX / png_width)`` of its file's width.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_docs_browser import MISSING, browser, open_page, site_pages, site_url  # noqa: F401
from test_figures_legible import COLUMN_PX, DPI, FLOOR_PX, saved_text_sizes

pytestmark = [
    pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}"),
    pytest.mark.slow,  # builds the site and starts a browser
]

MEASURE = """
const column = document.querySelector('article.md-content__inner');
const images = [...document.querySelectorAll('.bam-figure img')]
  .filter(i => new URL(i.src).pathname.includes('/figures/'))
  .map(i => [new URL(i.src).pathname.split('/').pop(), i.getBoundingClientRect().width,
             i.naturalWidth]);
return [column ? column.getBoundingClientRect().width : null, images];
"""


def test_column_and_figure_text_in_the_browser_at_1280(browser: object, site_url: str) -> None:  # noqa: F811
    """At a 1280 px window every page's column is COLUMN_PX wide, no figure is shown wider than
    its file or the column, and each figure's smallest text, scaled by the narrowest width the
    site shows it at (a figure inside a list item gets less than the column), is at least
    FLOOR_PX."""
    from bam.plots import all_figures

    browser.set_window_size(1280, 900)
    narrowest: dict[str, tuple[float, int, str]] = {}
    problems = []
    for page in site_pages():
        open_page(browser, site_url + page)
        column, images = browser.execute_script(MEASURE)
        if column is None:
            continue
        if abs(column - COLUMN_PX) > 1:
            problems.append(f"{page}: column {column:.0f} px, the tests assume {COLUMN_PX}")
        for name, width, natural in images:
            if width > min(natural, column) + 1:
                problems.append(f"{page}: {name} shown {width:.0f} px, wider than it may be")
            if name not in narrowest or width < narrowest[name][0]:
                narrowest[name] = (width, natural, page)
    assert sorted(narrowest) == sorted(f"{name}.png" for name in all_figures())
    for file, (width, natural, page) in sorted(narrowest.items()):
        png_width, drawn = saved_text_sizes(file.removesuffix(".png"))
        assert png_width == natural, f"{file}: the site's file is {natural} px, saved {png_width}"
        px, text = min((size * DPI / 72 * min(1.0, width / natural), text) for text, size in drawn)
        if px < FLOOR_PX:
            problems.append(f"{page}: {file} at {width:.0f} px shows {text!r} at {px:.1f} px")
    assert not problems, "\n".join(problems)
