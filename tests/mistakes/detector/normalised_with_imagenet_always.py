"""Normalises images with ImageNet's statistics whatever ``image_mean`` / ``image_std`` say."""

import solutions.detector as detector
from given.detection import batch_images

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def forward(self, images, targets=None):
        saved = self.image_mean, self.image_std
        self.image_mean, self.image_std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        try:
            return super().forward(images, targets)
        finally:
            self.image_mean, self.image_std = saved
