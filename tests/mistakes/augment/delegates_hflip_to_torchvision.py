"""hflip's image and mask flipped by torchvision.transforms.v2.functional (from-scratch: 0)."""

from torchvision.transforms.v2 import functional as TF

from solutions.augment import hflip as _reference

EXERCISE = "augment.hflip"


def hflip(image, mask, boxes):
    _, _, flipped_boxes = _reference(image, mask, boxes)
    return TF.hflip(image), TF.hflip(mask), flipped_boxes
