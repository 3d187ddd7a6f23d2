"""The encoders are frozen, but all the model's parameters are returned for the optimiser, not the trainable ones."""

EXERCISE = "sam.freeze_for_finetuning"


def freeze_for_finetuning(model):
    for name, parameter in model.named_parameters():
        if not name.startswith("mask_decoder."):
            parameter.requires_grad_(False)
    return list(model.parameters())
