"""Lesson 9 — detector: Faster R-CNN end to end.

The capstone puts lessons 5 to 8 together into one detector with torchvision's interface:

    images ──► VGG16 backbone ──► feature map ──► RPN head ──► proposals ─┐
                                      │                                   │
                                      └──────► RoI pooling (7x7) ◄────────┘
                                                     │
                                         Fast R-CNN head ──► class logits, box deltas

In training, ``model(images, targets)`` returns the four losses (two of the RPN, two of the
head), to be summed and back-propagated; in evaluation (``model.eval()``), ``model(images)``
returns one ``{"boxes", "scores", "labels"}`` dict per image. The layers are given in
``__init__``; the exercise is the data flow: ``forward``, ``region_proposals`` and
``detection_head``.

Notation:
    B            images in the batch; each image ``[3, H, W]`` float in [0, 1]
    C            classes including background (class 0); objects are 1..C-1
    H', W'       feature map size (stride 16); A anchors per cell; N = H' * W' * A anchors
    K            RoIs of the whole batch (their first column is the image index)
    target       ``{"boxes": Tensor[G, 4] (x1, y1, x2, y2) pixels, "labels": Tensor[G] int64}``

Given code: ``given.detection.batch_images`` (normalise and pad), ``given.detection.check_targets``,
``given.detection.init_from_scratch`` and ``given.rpn_layout.flatten_rpn_outputs`` (the RPN head's
maps in anchor order).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from given.detection import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    batch_images,
    check_detector_options,
    check_targets,
    init_from_scratch,
)
from given.rpn_layout import flatten_rpn_outputs

from . import head, roi, rpn, vgg

__all__ = ["FasterRCNN"]

STRIDE = 16
"""Image pixels per feature-map cell of the VGG16 backbone."""


class FasterRCNN(nn.Module):
    """Faster R-CNN built from the course's exercises, with torchvision's detection interface.

    Args:
        num_classes: classes including background (3 shapes + background = 4).
        width: channel multiplier of the VGG16 backbone (1.0 is the paper's network).
        hidden: width of the head's two fully connected layers (4096 in the paper).
        anchor_sizes: anchor sizes in pixels (square roots of their areas).
        anchor_ratios: anchor aspect ratios ``h / w``.
        pool: ``"roi_pool"`` (the paper) or ``"roi_align"`` (lesson 7's refinement).
        rpn_pre_nms_top_n: anchors kept per image before the proposal NMS.
        rpn_post_nms_top_n: proposals kept per image after it.
        rpn_nms_thresh: IoU threshold of the proposal NMS.
        rpn_fg_iou: IoU from which an anchor is positive.
        rpn_bg_iou: IoU below which an anchor is negative.
        rpn_batch_size: anchors sampled per image for the RPN loss.
        rpn_positive_fraction: largest share of positives among them.
        roi_batch_size: RoIs sampled per image for the head's loss.
        roi_positive_fraction: largest share of positives among them.
        roi_fg_iou: IoU from which a RoI is an object.
        roi_bg_iou: IoU below which a RoI is background.
        score_thresh: smallest class probability of a detection.
        nms_thresh: IoU threshold of the per-class NMS of detections.
        detections_per_img: most detections per image.
        image_mean: per-channel mean used to normalise images (ImageNet's).
        image_std: per-channel standard deviation used to normalise images (ImageNet's).

    Raises:
        ValueError: for fewer than 2 classes or an unknown ``pool``.
    """

    def __init__(
        self,
        num_classes: int,
        width: float = 1.0,
        hidden: int = 4096,
        anchor_sizes: tuple[float, ...] = (128, 256, 512),
        anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0),
        pool: str = "roi_pool",
        rpn_pre_nms_top_n: int = 6000,
        rpn_post_nms_top_n: int = 300,
        rpn_nms_thresh: float = 0.7,
        rpn_fg_iou: float = 0.7,
        rpn_bg_iou: float = 0.3,
        rpn_batch_size: int = 256,
        rpn_positive_fraction: float = 0.5,
        roi_batch_size: int = 128,
        roi_positive_fraction: float = 0.25,
        roi_fg_iou: float = 0.5,
        roi_bg_iou: float = 0.5,
        score_thresh: float = 0.05,
        nms_thresh: float = 0.5,
        detections_per_img: int = 100,
        image_mean: tuple[float, float, float] = IMAGENET_MEAN,
        image_std: tuple[float, float, float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        check_detector_options(num_classes, pool)
        self.num_classes = num_classes
        self.anchor_sizes, self.anchor_ratios = tuple(anchor_sizes), tuple(anchor_ratios)
        self.pool = pool
        self.rpn_settings = {
            "pre_nms_top_n": rpn_pre_nms_top_n,
            "post_nms_top_n": rpn_post_nms_top_n,
            "nms_thresh": rpn_nms_thresh,
        }
        self.rpn_fg_iou, self.rpn_bg_iou = rpn_fg_iou, rpn_bg_iou
        self.rpn_batch_size, self.rpn_positive_fraction = rpn_batch_size, rpn_positive_fraction
        self.roi_settings = {
            "batch_size": roi_batch_size,
            "positive_fraction": roi_positive_fraction,
            "fg_iou": roi_fg_iou,
            "bg_iou": roi_bg_iou,
        }
        self.detection_settings = {
            "score_thresh": score_thresh,
            "nms_thresh": nms_thresh,
            "detections_per_img": detections_per_img,
        }
        self.image_mean, self.image_std = tuple(image_mean), tuple(image_std)

        self.backbone = vgg.vgg16_backbone(width)
        init_from_scratch(self.backbone)  # no ImageNet weights here: train from scratch
        convolutions = [layer for layer in self.backbone.modules() if isinstance(layer, nn.Conv2d)]
        channels = convolutions[-1].out_channels  # of the feature map
        self.rpn_head = rpn.RPNHead(channels, len(self.anchor_sizes) * len(self.anchor_ratios))
        self.head = head.FastRCNNHead(channels * 7 * 7, num_classes, hidden)

    def forward(
        self, images: Tensor | Sequence[Tensor], targets: Sequence[dict[str, Tensor]] | None = None
    ) -> dict[str, Tensor] | list[dict[str, Tensor]]:
        """Losses in training mode, detections in evaluation mode.

        Args:
            images: Tensor[B, 3, H, W] or a list of B tensors [3, H_i, W_i], float in [0, 1].
            targets: in training, one target dict per image (see the module's notation).

        Returns:
            Training: ``{"loss_objectness", "loss_rpn_box_reg", "loss_classifier",
            "loss_box_reg"}``, scalar tensors. Evaluation: a list of B dicts with ``"boxes"``
            Tensor[D, 4], ``"scores"`` Tensor[D] and ``"labels"`` Tensor[D] int64 (1..C-1).

        Raises:
            ValueError: in training mode without valid targets.
        """
        batch, image_sizes = batch_images(images, self.image_mean, self.image_std)  # [B, 3, H, W]
        if self.training:
            check_targets(targets, len(batch))
        features = self.backbone(batch)  # [B, channels, H', W']
        proposals, rpn_losses = self.region_proposals(features, image_sizes, targets)
        detections, head_losses = self.detection_head(features, proposals, image_sizes, targets)
        if self.training:
            return {**rpn_losses, **head_losses}
        return detections

    def region_proposals(
        self,
        features: Tensor,
        image_sizes: list[tuple[int, int]],
        targets: Sequence[dict[str, Tensor]] | None = None,
    ) -> tuple[list[Tensor], dict[str, Tensor]]:
        """The RPN: proposals of every image and, in training, its two losses.

        Args:
            features: Tensor[B, channels, H', W'] — the backbone's map.
            image_sizes: ``(H_i, W_i)`` of each image before padding (proposals are clipped to it).
            targets: in training, one target dict per image.

        Returns:
            ``(proposals, losses)``: a list of B Tensor[P_i, 4] (no gradient) and, in training,
            ``{"loss_objectness", "loss_rpn_box_reg"}`` (an empty dict in evaluation).
        """
        anchors = rpn.generate_anchors(
            tuple(features.shape[-2:]), STRIDE, self.anchor_sizes, self.anchor_ratios
        ).to(features)  # [N, 4], the same for every image of the batch
        objectness, deltas = flatten_rpn_outputs(*self.rpn_head(features))  # [B, N], [B, N, 4]
        proposals = [
            rpn.propose(anchors, scores, box_deltas, size, **self.rpn_settings)[0]
            for scores, box_deltas, size in zip(
                objectness.detach(), deltas.detach(), image_sizes, strict=True
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

    def detection_head(
        self,
        features: Tensor,
        proposals: list[Tensor],
        image_sizes: list[tuple[int, int]],
        targets: Sequence[dict[str, Tensor]] | None = None,
    ) -> tuple[list[dict[str, Tensor]], dict[str, Tensor]]:
        """RoI pooling and the Fast R-CNN head: detections, or in training its two losses.

        Args:
            features: Tensor[B, channels, H', W'].
            proposals: a list of B Tensor[P_i, 4], the RPN's proposals.
            image_sizes: ``(H_i, W_i)`` of each image (detections are clipped to it).
            targets: in training, one target dict per image.

        Returns:
            ``(detections, losses)``: in evaluation, one ``{"boxes", "scores", "labels"}`` dict
            per image and ``{}``; in training, ``[]`` and
            ``{"loss_classifier", "loss_box_reg"}``.
        """
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
            image_sizes,
            strict=True,
        ):
            found, scores, labels = head.postprocess_detections(
                logits, regression, boxes, size, **self.detection_settings
            )
            detections.append({"boxes": found, "scores": scores, "labels": labels})
        return detections, {}
