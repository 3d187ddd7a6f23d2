"""Splits the head's outputs into equal parts per image in evaluation, as if every image had the
same number of proposals: with unequal counts the RoIs of one image are scored as another's (or
the split crashes)."""

import torch

import solutions.detector as detector
from solutions import head, roi

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def detection_head(self, features, proposals, image_sizes, targets=None):
        if self.training:
            return super().detection_head(features, proposals, image_sizes, targets)
        rois = torch.cat(
            [torch.cat([b.new_full((len(b), 1), i), b], dim=1) for i, b in enumerate(proposals)]
        )
        pool = roi.roi_align if self.pool == "roi_align" else roi.roi_pool
        logits, regression = self.head(pool(features, rois, (7, 7), 1 / detector.STRIDE))
        share = -(-len(rois) // len(proposals))  # the mistake: an even split
        all_boxes = torch.cat(proposals)
        detections = []
        for index, size in enumerate(image_sizes):
            part = slice(index * share, (index + 1) * share)
            found, scores, labels = head.postprocess_detections(
                logits[part], regression[part], all_boxes[part], size, **self.detection_settings
            )
            detections.append({"boxes": found, "scores": scores, "labels": labels})
        return detections, {}
