"""A proposal layer that never decodes: box_iou on the deltas (as if they were boxes) and NMS with IoU values as boxes and scores."""

import torch
import torchvision

EXERCISE = "rpn.propose"


def propose(
    anchors,
    objectness,
    deltas,
    image_size,
    pre_nms_top_n=6000,
    post_nms_top_n=300,
    nms_thresh=0.7,
    min_size=1e-3,
):
    proposals = torchvision.ops.box_convert(deltas.detach(), in_fmt="xyxy", out_fmt="xywh")
    proposals = torchvision.ops.box_iou(proposals, proposals)  # [N, N]: not boxes any more
    proposals = proposals[objectness.detach().argsort(descending=True)][:pre_nms_top_n]
    keep = torchvision.ops.nms(proposals[:, :4], proposals[:, 0], nms_thresh)[:post_nms_top_n]
    return proposals[keep, :4], torch.sigmoid(objectness.detach()[keep])
