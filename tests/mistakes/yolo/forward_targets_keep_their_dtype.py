"""Hands the target boxes to grid_targets in their own dtype: float64 boxes make float64 targets,
and a float32 model then returns a float64 box loss."""

import torch

from solutions import yolo

EXERCISE = "yolo.YOLO"


class YOLO(yolo.YOLO):
    def forward(self, images, targets=None):
        if not self.training:
            return super().forward(images, targets)
        batch, _ = yolo.batch_images(images, self.image_mean, self.image_std)
        yolo.check_targets(targets, len(batch))
        raw = self.head(self.backbone(batch))
        grid = tuple(raw.shape[-2:])
        predictions = raw.permute(0, 2, 3, 1).reshape(*raw.shape[:1], *grid, len(self.anchors), -1)
        per_image = [
            yolo.grid_targets(t["boxes"], t["labels"], grid, yolo.STRIDE, self.anchors)
            for t in targets
        ]
        stacked = {key: torch.stack([t[key] for t in per_image]) for key in per_image[0]}
        return yolo.yolo_loss(predictions, stacked, **self.loss_weights)
