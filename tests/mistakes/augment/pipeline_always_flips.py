"""Flips with p=1: every image is turned upside down, so nothing is augmented at all."""

import albumentations as A

EXERCISE = "augment.build_pipeline"


def build_pipeline(train):
    transforms = [A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0), A.RandomBrightnessContrast(p=0.2)]
    return A.Compose(
        transforms if train else [],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
    )
