"""Offsets each image's sampled anchor indices by ``-index * N`` (counting from the end): negative
indices wrap around, so a batch of two still works, but in a batch of three the third image's
labels are scored against the second image's predictions."""

import torch

import solutions.detector as detector
from given.rpn_layout import flatten_rpn_outputs
from solutions import rpn

EXERCISE = "detector.FasterRCNN"


class FasterRCNN(detector.FasterRCNN):
    def region_proposals(self, features, image_sizes, targets=None):
        proposals, losses = super().region_proposals(features, image_sizes, targets)
        if not self.training:
            return proposals, losses
        anchors = rpn.generate_anchors(
            tuple(features.shape[-2:]), detector.STRIDE, self.anchor_sizes, self.anchor_ratios
        ).to(features)
        objectness, deltas = flatten_rpn_outputs(*self.rpn_head(features))
        labels, regression, positives, negatives = [], [], [], []
        for index, target in enumerate(targets):
            gt = target["boxes"]
            image_labels, matched = rpn.assign_anchors(
                anchors, gt, self.rpn_fg_iou, self.rpn_bg_iou
            )
            positive, negative = rpn.sample_labels(
                image_labels, self.rpn_batch_size, self.rpn_positive_fraction
            )
            labels.append(image_labels)
            regression.append(
                rpn.encode_boxes(gt[matched.clamp(min=0)] if len(gt) else anchors, anchors)
            )
            positives.append(positive - index * len(anchors))  # wraps around
            negatives.append(negative - index * len(anchors))
        loss_objectness, loss_box = rpn.rpn_loss(
            objectness.reshape(-1), deltas.reshape(-1, 4), torch.cat(labels), torch.cat(regression),
            torch.cat(positives), torch.cat(negatives),
        )  # fmt: skip
        return proposals, {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_box}
