"""Boxes & Masks: the given (non-exercise) code of the course.

Command line (``bam``), data generation, loaders, training loops, plots and benchmarks.
Nothing in here is an exercise: students never edit it, and checks may use it.
"""

__version__ = "0.1.0"
