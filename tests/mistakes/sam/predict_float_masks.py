"""The masks come back as probabilities rounded to 0.0/1.0 floats, not as bool masks."""

import torch

from given.sam import sam_inputs
from solutions import sam

EXERCISE = "sam.predict_masks"


def predict_masks(model, images, boxes, threshold=0.5):
    with torch.no_grad():
        pixel_values, input_boxes = sam_inputs(model, images, boxes)
        outputs = model(pixel_values=pixel_values, input_boxes=input_boxes, multimask_output=False)
        logits = sam.upsample_logits(outputs.pred_masks[:, 0, 0], images.shape[-2:])
        return (torch.sigmoid(logits) > threshold).float()
