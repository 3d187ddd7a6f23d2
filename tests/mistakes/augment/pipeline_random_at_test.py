"""The training augmentation also used for testing: test scores change from run to run."""

import albumentations as A

EXERCISE = "augment.build_pipeline"


def build_pipeline(train):
    return A.Compose(
        [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.RandomBrightnessContrast(p=0.2)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
    )
