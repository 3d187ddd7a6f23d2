"""A 3x3 conv widens the field by 3 jumps (the kernel size) instead of 2 (kernel size - 1)."""

EXERCISE = "vgg.receptive_field"


def receptive_field(config):
    field, jump = 1, 1
    for layer in config:
        if layer == "M":
            field, jump = field + jump, jump * 2
        else:
            field += 3 * jump
    return field
