"""Normalises images with ImageNet's standard deviation whatever the model was built with (image_std ignored)."""

from given.detection import IMAGENET_STD
from solutions import yolo

EXERCISE = "yolo.YOLO"


class YOLO(yolo.YOLO):
    def forward(self, images, targets=None):
        self.image_std = IMAGENET_STD
        return super().forward(images, targets)
