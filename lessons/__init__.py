"""Student exercises: one module per lesson. Fill in every ``TODO``, then run ``pytest checks``.

``COURSE_ORDER`` is the order of the lessons (used by the scoreboard, the docs and ``bam``).
"""

COURSE_ORDER: tuple[str, ...] = (
    "dataset",
    "augment",
    "metrics",
    "sam",
    "vgg",
    "rpn",
    "roi",
    "head",
    "detector",
    "yolo",
    "instances",
)
