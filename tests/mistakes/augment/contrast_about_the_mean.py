"""Contrast stretched about the image's mean (another common definition, not Albumentations')."""

EXERCISE = "augment.brightness_contrast"


def brightness_contrast(image, brightness, contrast):
    mean = image.mean()
    return ((image - mean) * (1 + contrast) + mean + brightness).clamp(0, 1)
