"""Takes the single-mask output with ``pred_masks.squeeze()``: for a batch of one the batch
dimension goes too, and the loss gets ``[H, W]`` logits (or upsampling fails)."""

import solutions.sam as sam
from given.sam import sam_inputs

EXERCISE = "sam.train_step"


def train_step(model, batch, optimizer, loss_fn=None):
    loss_fn = sam.metrics.dice_ce_loss if loss_fn is None else loss_fn
    images, masks = batch["images"], batch["masks"]
    pixel_values, input_boxes = sam_inputs(model, images, batch["boxes"])
    optimizer.zero_grad()
    outputs = model(pixel_values=pixel_values, input_boxes=input_boxes, multimask_output=False)
    low_res = outputs.pred_masks.squeeze()  # the mistake: [B, h, w] only when B > 1
    if low_res.dim() == 2:
        logits = sam.upsample_logits(low_res[None], masks.shape[-2:])[0]
        masks = masks[0]
    else:
        logits = sam.upsample_logits(low_res, masks.shape[-2:])
    loss = loss_fn(logits, masks.to(logits))
    loss.backward()
    optimizer.step()
    return loss.item()
