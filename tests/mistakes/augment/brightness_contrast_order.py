"""Brightness added before the contrast factor: (image + brightness) * (1 + contrast)."""

EXERCISE = "augment.brightness_contrast"


def brightness_contrast(image, brightness, contrast):
    return ((image + brightness) * (1 + contrast)).clamp(0, 1)
