"""Treats every entry that is not ``'M'`` as a convolution: ``0``, ``True`` or ``2.5`` are
counted as layers instead of raising the documented ValueError."""

EXERCISE = "vgg.receptive_field"


def receptive_field(config):
    field, jump = 1, 1
    for layer in config:
        if layer == "M":
            field, jump = field + jump, jump * 2
        else:
            field += 2 * jump
    return field
