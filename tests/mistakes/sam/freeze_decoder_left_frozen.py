"""The encoders are frozen but the decoder is never switched back on: a model frozen earlier stays untrainable."""

EXERCISE = "sam.freeze_for_finetuning"


def freeze_for_finetuning(model):
    model.vision_encoder.requires_grad_(False)
    model.prompt_encoder.requires_grad_(False)
    model.shared_image_embedding.requires_grad_(False)
    return list(model.mask_decoder.parameters())
