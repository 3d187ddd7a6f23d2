"""Detections are clipped to the padded batch's size, not to each image's own: a small image's boxes reach into its padding."""

from __future__ import annotations

import torch

from solutions import detector as solutions_module
from solutions.detector import STRIDE, Sequence, Tensor, head, roi

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(solutions_module.FasterRCNN):
    def detection_head(
        self,
        features: Tensor,
        proposals: list[Tensor],
        image_sizes: list[tuple[int, int]],
        targets: Sequence[dict[str, Tensor]] | None = None,
    ) -> tuple[list[dict[str, Tensor]], dict[str, Tensor]]:
        if self.training:
            samples = [
                head.sample_proposals(
                    image_proposals,
                    target["boxes"].to(features),
                    target["labels"],
                    **self.roi_settings,
                )
                for image_proposals, target in zip(proposals, targets, strict=True)
            ]
            proposals = [rois for rois, _, _ in samples]
        rois = torch.cat(
            [
                torch.cat([boxes.new_full((len(boxes), 1), index), boxes], dim=1)
                for index, boxes in enumerate(proposals)
            ]
        )  # [K, 5]: image index, x1, y1, x2, y2
        pool = roi.roi_align if self.pool == "roi_align" else roi.roi_pool
        pooled = pool(features, rois, (7, 7), 1 / STRIDE)  # [K, channels, 7, 7]
        class_logits, box_regression = self.head(pooled)  # [K, C], [K, 4C]
        if self.training:
            loss_classifier, loss_box_reg = head.fast_rcnn_loss(
                class_logits,
                box_regression,
                torch.cat([labels for _, labels, _ in samples]),
                torch.cat([regression for _, _, regression in samples]),
            )
            return [], {"loss_classifier": loss_classifier, "loss_box_reg": loss_box_reg}
        counts = [len(boxes) for boxes in proposals]
        detections = []
        for logits, regression, boxes, size in zip(
            class_logits.split(counts),
            box_regression.split(counts),
            proposals,
            [(max(h for h, _ in image_sizes), max(w for _, w in image_sizes))] * len(image_sizes),
            strict=True,
        ):
            found, scores, labels = head.postprocess_detections(
                logits, regression, boxes, size, **self.detection_settings
            )
            detections.append({"boxes": found, "scores": scores, "labels": labels})
        return detections, {}
