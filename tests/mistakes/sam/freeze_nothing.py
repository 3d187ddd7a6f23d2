"""Nothing is frozen: the decoder's parameters are returned, but every encoder weight still requires gradients."""

EXERCISE = "sam.freeze_for_finetuning"


def freeze_for_finetuning(model):
    return list(model.mask_decoder.parameters())
