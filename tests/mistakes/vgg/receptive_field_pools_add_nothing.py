"""Pools only double the jump and do not widen the field themselves: 181 for VGG16, not 196."""

EXERCISE = "vgg.receptive_field"


def receptive_field(config):
    field, jump = 1, 1
    for layer in config:
        if layer == "M":
            jump *= 2
        else:
            field += 2 * jump
    return field
