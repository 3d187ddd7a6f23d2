"""Decides between losses and detections by whether targets were passed, not by ``self.training``:
``model.eval(); model(images, targets)`` (an evaluation loop that keeps the targets) returns
losses, and sampling with the targets changes the detections."""

import solutions.detector as detector

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def forward(self, images, targets=None):
        saved = self.training
        self.training = targets is not None  # the mistake
        try:
            return super().forward(images, targets)
        finally:
            self.training = saved
