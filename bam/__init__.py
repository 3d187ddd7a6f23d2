"""Boxes & Masks: the course's own (non-exercise) code, the ``bam`` command and its library.

From the top down: ``bam.commands`` (one thin module per command), ``bam.checking`` (``bam
check``), ``bam.release``, ``bam.notebooks``, ``bam.pipelines`` (training, evaluation,
comparisons), ``bam.plots``, ``bam.data``, ``bam.train`` (the loop), and the torch-free
``bam.configs``, ``bam.course`` and ``bam.options``. The helpers the lessons call are in
``given/``, not here. Nothing in here is an exercise: students never edit it, and checks may use it.
"""

__version__ = "0.1.0"
