"""Every lesson as a Jupyter notebook that grades through the same checks as ``bam check``.

``bam.notebooks.build`` makes the notebooks from the lessons and their docs pages;
``bam.notebooks.cells`` turns a notebook's exercise cells into the lesson module (as text, for
the notebook's ``check()`` and for graders); ``bam.notebooks.kernel`` is what a notebook calls::

    from bam.notebooks import check, figure, hint, setup

    setup("metrics")                 # finds the course, makes its lessons importable
    check("metrics.box_iou")         # writes the exercise cells into lessons/, runs the checks
    figure("anchor-labels", "rpn")   # a lesson figure, drawn with the notebook's own functions
    hint("metrics.box_iou")          # one more hint, as `bam hint`
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "figure", "hint", "setup"]


def __getattr__(name: str) -> Any:
    if name in __all__:  # the kernel side imports bam's checking code: only when a notebook asks
        from bam.notebooks import kernel

        return getattr(kernel, name)
    raise AttributeError(f"module 'bam.notebooks' has no attribute {name!r}")
