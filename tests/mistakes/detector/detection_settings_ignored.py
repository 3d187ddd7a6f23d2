"""Post-processes with ``postprocess_detections``' defaults: the constructor's ``score_thresh``,
``nms_thresh`` and ``detections_per_img`` are ignored."""

import solutions.detector as detector

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def detection_head(self, features, proposals, image_sizes, targets=None):
        saved, self.detection_settings = self.detection_settings, {}
        try:
            return super().detection_head(features, proposals, image_sizes, targets)
        finally:
            self.detection_settings = saved
