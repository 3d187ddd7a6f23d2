"""Asks SAM for three masks (multimask_output=True) and keeps the first, which is not the single-mask
output."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from given import sam
from solutions import instances

EXERCISE = "instances.segment_instances"


def segment_instances(
    model: torch.nn.Module,
    image: Tensor,
    detection: dict[str, Tensor],
    score_thresh: float = 0.5,
) -> dict[str, Tensor]:
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be Tensor[3, H, W], got shape {tuple(image.shape)}")
    boxes, scores, labels = detection["boxes"], detection["scores"], detection["labels"]
    if boxes.dim() != 2 or boxes.shape[-1] != 4 or scores.shape != boxes.shape[:1]:
        raise ValueError(
            f"detection must hold boxes [N, 4], scores [N], labels [N], got shapes"
            f" {tuple(boxes.shape)}, {tuple(scores.shape)}, {tuple(labels.shape)}"
        )
    if labels.shape != scores.shape:
        raise ValueError(f"labels must be Tensor[N] like scores, got {tuple(labels.shape)}")
    keep = scores > score_thresh  # [N]: lesson 8's rule
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]  # [K, 4], [K], [K]
    height, width = image.shape[-2:]
    if len(boxes) == 0:
        masks = torch.zeros((0, height, width), dtype=torch.bool, device=boxes.device)
        return {"boxes": boxes, "scores": scores, "labels": labels, "masks": masks}
    parameter = next(model.parameters())
    side = sam.input_size(model)  # S
    with torch.no_grad():
        pixels = image[None].to(device=parameter.device, dtype=parameter.dtype)  # [1, 3, H, W]
        if (height, width) != (side, side):
            pixels = F.interpolate(pixels, size=(side, side), mode="bilinear", align_corners=False)
        mean = pixels.new_tensor(sam.IMAGE_MEAN).view(1, 3, 1, 1)
        std = pixels.new_tensor(sam.IMAGE_STD).view(1, 3, 1, 1)
        pixel_values = (pixels - mean) / std  # [1, 3, S, S]
        prompts = instances.boxes_to_prompts(boxes, (height, width), side)  # [K, 4] in input pixels
        prompts = prompts.to(device=parameter.device, dtype=parameter.dtype)
        outputs = model(
            pixel_values=pixel_values, input_boxes=prompts[None], multimask_output=True
        )  # pred_masks: [1, K, 1, h, w]
        low_res = outputs.pred_masks[0, :, 0]  # [K, h, w]
        masks = instances.paste_masks(
            low_res, scores.to(low_res.device), (height, width)
        )  # [K, H, W]
    return {"boxes": boxes, "scores": scores, "labels": labels, "masks": masks.to(boxes.device)}
