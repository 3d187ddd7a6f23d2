"""Only the image encoder is frozen; the prompt encoder (and the positional encoding) keeps training."""

EXERCISE = "sam.freeze_for_finetuning"


def freeze_for_finetuning(model):
    for parameter in model.vision_encoder.parameters():
        parameter.requires_grad_(False)
    return list(model.mask_decoder.parameters())
