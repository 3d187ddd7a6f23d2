"""Decides training or evaluation by whether targets were passed, not by self.training."""

from solutions import yolo

EXERCISE = "yolo.YOLO"


class YOLO(yolo.YOLO):
    def forward(self, images, targets=None):
        self.training = targets is not None
        return super().forward(images, targets)
