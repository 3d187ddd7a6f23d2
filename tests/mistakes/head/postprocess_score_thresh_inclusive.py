"""Keeps detections whose score is at or above ``score_thresh`` (``>=``): torchvision keeps
only scores strictly above it, so a score exactly at the threshold should go."""

import solutions.head as head

_original = head.postprocess_detections

EXERCISE = "head.postprocess_detections"


def postprocess_detections(class_logits, box_regression, proposals, image_size,
                           score_thresh=0.05, nms_thresh=0.5, detections_per_img=100):  # fmt: skip
    inclusive = score_thresh - 1e-7  # as `scores >= score_thresh`
    return _original(
        class_logits, box_regression, proposals, image_size, inclusive, nms_thresh,
        detections_per_img,
    )  # fmt: skip
