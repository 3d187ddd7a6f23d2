"""Figures of the course, one module per topic.

Every module in this package defines ``FIGURES``: a dict from a figure name (used as the PNG file
name, e.g. ``"anchors-one-location"``) to a function with no required arguments that returns a
``matplotlib.figure.Figure``. ``bam figures OUT_DIR`` and the docs build save them all; nothing
else needs registering.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure


def all_figures() -> dict[str, Callable[[], Figure]]:
    """Collects ``FIGURES`` from every module of ``bam.plots``.

    Returns:
        Mapping from figure name to a function that draws it.

    Raises:
        ValueError: if two modules define a figure of the same name.
    """
    figures: dict[str, Callable[[], Figure]] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for name, draw in getattr(module, "FIGURES", {}).items():
            if name in figures:
                raise ValueError(f"figure {name!r} is defined twice (again in {module.__name__})")
            figures[name] = draw
    return figures


def save_figures(out_dir: str | Path, names: list[str] | None = None, dpi: int = 110) -> list[Path]:
    """Draws figures and saves each as ``OUT_DIR/<name>.png``.

    Args:
        out_dir: folder to write into (created if missing).
        names: figure names to draw; all of them when ``None``.
        dpi: resolution of the PNG files.

    Returns:
        The paths written, in name order.

    Raises:
        KeyError: if a name is not a known figure.
    """
    import matplotlib.pyplot as plt

    figures = all_figures()
    unknown = sorted(set(names or []) - set(figures))
    if unknown:
        raise KeyError(f"unknown figure(s) {unknown}; known: {sorted(figures)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(names or figures):
        figure = figures[name]()
        path = out / f"{name}.png"
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written
