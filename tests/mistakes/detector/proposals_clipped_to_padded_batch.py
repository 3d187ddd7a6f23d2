"""Proposals are clipped to the padded batch's size, not to each image's own (image_sizes[i])."""

from __future__ import annotations

import torch

from solutions import detector as solutions_module
from solutions.detector import STRIDE, Sequence, Tensor, flatten_rpn_outputs, rpn

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(solutions_module.FasterRCNN):
    def region_proposals(
        self,
        features: Tensor,
        image_sizes: list[tuple[int, int]],
        targets: Sequence[dict[str, Tensor]] | None = None,
    ) -> tuple[list[Tensor], dict[str, Tensor]]:
        anchors = rpn.generate_anchors(
            tuple(features.shape[-2:]), STRIDE, self.anchor_sizes, self.anchor_ratios
        ).to(features)  # [N, 4], the same for every image of the batch
        objectness, deltas = flatten_rpn_outputs(*self.rpn_head(features))  # [B, N], [B, N, 4]
        proposals = [
            rpn.propose(anchors, scores, box_deltas, size, **self.rpn_settings)[0]
            for scores, box_deltas, size in zip(
                objectness.detach(),
                deltas.detach(),
                [max(image_sizes)] * len(image_sizes),
                strict=True,
            )
        ]
        if not self.training:
            return proposals, {}
        labels, regression_targets, positives, negatives = [], [], [], []
        for index, target in enumerate(targets):
            gt_boxes = target["boxes"].to(anchors)
            image_labels, matched = rpn.assign_anchors(
                anchors, gt_boxes, self.rpn_fg_iou, self.rpn_bg_iou
            )
            positive, negative = rpn.sample_labels(
                image_labels, self.rpn_batch_size, self.rpn_positive_fraction
            )
            matched_boxes = gt_boxes[matched.clamp(min=0)] if len(gt_boxes) else anchors  # [N, 4]
            labels.append(image_labels)
            regression_targets.append(rpn.encode_boxes(matched_boxes, anchors))
            offset = index * len(anchors)  # positions in the flattened batch
            positives.append(positive + offset)
            negatives.append(negative + offset)
        loss_objectness, loss_rpn_box_reg = rpn.rpn_loss(
            objectness.reshape(-1),
            deltas.reshape(-1, 4),
            torch.cat(labels),
            torch.cat(regression_targets),
            torch.cat(positives),
            torch.cat(negatives),
        )
        return proposals, {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg}
