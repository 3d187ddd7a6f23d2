"""Re-exports ``given.detection``, where the lessons' detection helpers live (see ``given``)."""

from given.detection import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    batch_images,
    check_detector_options,
    check_targets,
    init_from_scratch,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "batch_images",
    "check_detector_options",
    "check_targets",
    "init_from_scratch",
]
