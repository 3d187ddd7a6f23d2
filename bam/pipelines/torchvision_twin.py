"""torchvision's ``FasterRCNN`` built as the course's twin: the same backbone and settings.

``bam compare detector`` and ``bam compare detectors`` (and the benchmarks) train it beside the
course's model with the same loop (``model_factory=torchvision_twin``), so that the two differ
only in who wrote the RPN, the RoI pooling and the head.
"""

from __future__ import annotations

from typing import Any


def torchvision_twin(config: Any, num_classes: int) -> Any:
    """torchvision's ``FasterRCNN`` with the course's backbone and the run's settings."""
    from torch import nn
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import roi_align, roi_pool

    from bam.implementations import lesson_module
    from given.detection import IMAGENET_MEAN, IMAGENET_STD, init_from_scratch

    backbone = lesson_module("vgg", config.impl).vgg16_backbone(config.width)
    channels = [layer for layer in backbone.modules() if isinstance(layer, nn.Conv2d)][
        -1
    ].out_channels
    backbone.out_channels = channels
    init_from_scratch(backbone)

    class SingleMapPool(nn.Module):
        """RoI pooling of torchvision's one feature map ``"0"`` at stride 16."""

        def forward(self, features, proposals, image_shapes):
            if config.pool == "roi_align":
                return roi_align(features["0"], proposals, (7, 7), 1 / 16, 2, True)
            return roi_pool(features["0"], proposals, (7, 7), 1 / 16)

    height, width = config.image_size
    model = FasterRCNN(
        backbone,
        num_classes=None,
        min_size=min(height, width),
        max_size=max(height, width),
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
        rpn_anchor_generator=AnchorGenerator(
            (tuple(config.anchor_sizes),), (tuple(config.anchor_ratios),)
        ),
        rpn_pre_nms_top_n_train=6000,
        rpn_pre_nms_top_n_test=6000,
        rpn_post_nms_top_n_train=300,
        rpn_post_nms_top_n_test=300,
        rpn_batch_size_per_image=config.rpn_batch_size,
        box_head=TwoMLPHead(channels * 7 * 7, config.hidden),
        box_predictor=FastRCNNPredictor(config.hidden, num_classes),
        box_batch_size_per_image=config.roi_batch_size,
    )
    model.transform.size_divisible = (
        1  # no padding to multiples of 32: the same feature map as ours
    )
    # torchvision's constructor accepts only MultiScaleRoIAlign (or None: its default RoIAlign);
    # set the pooling afterwards so that --pool applies to both models alike
    model.roi_heads.box_roi_pool = SingleMapPool()
    return model
