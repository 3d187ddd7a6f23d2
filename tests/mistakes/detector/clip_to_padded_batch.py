"""Clips proposals and detections to the padded batch size instead of each image's own size."""

import solutions.detector as detector

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def forward(self, images, targets=None):
        batch, _ = detector.batch_images(images, self.image_mean, self.image_std)
        if self.training:
            detector.check_targets(targets, len(batch))
        padded = [tuple(batch.shape[-2:])] * len(batch)  # the mistake: not each image's size
        features = self.backbone(batch)
        proposals, rpn_losses = self.region_proposals(features, padded, targets)
        detections, head_losses = self.detection_head(features, proposals, padded, targets)
        return {**rpn_losses, **head_losses} if self.training else detections
