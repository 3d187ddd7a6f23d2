"""A pipeline made for masks only: no bbox_params (boxes would not follow) and no shape check."""

import albumentations as A

EXERCISE = "augment.build_pipeline"


def build_pipeline(train):
    transforms = [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.RandomBrightnessContrast(p=0.2)]
    return A.Compose(transforms if train else [], is_check_shapes=False)
