"""Hands the masks to the loss as they come (bool or uint8): the loss's contract asks for float
targets, and BCE-with-logits rejects a bool target."""

import solutions.sam as sam
from given.sam import sam_inputs

EXERCISE = "sam.train_step"


def train_step(model, batch, optimizer, loss_fn=None):
    loss_fn = sam.metrics.dice_ce_loss if loss_fn is None else loss_fn
    images, masks = batch["images"], batch["masks"]
    pixel_values, input_boxes = sam_inputs(model, images, batch["boxes"])
    optimizer.zero_grad()
    outputs = model(pixel_values=pixel_values, input_boxes=input_boxes, multimask_output=False)
    logits = sam.upsample_logits(outputs.pred_masks[:, 0, 0], masks.shape[-2:])
    loss = loss_fn(logits, masks if masks.is_floating_point() else masks.float().to(masks.dtype))
    loss.backward()
    optimizer.step()
    return loss.item()
