"""No clipping: brightened pixels go above 1 and darkened ones below 0."""

EXERCISE = "augment.brightness_contrast"


def brightness_contrast(image, brightness, contrast):
    return image * (1 + contrast) + brightness
