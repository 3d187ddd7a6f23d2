"""The mask resized bilinear like the image: its edges get values between 0 and 1."""

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

EXERCISE = "dataset.load_segmentation_pair"


def load_segmentation_pair(image_path, mask_path, size):
    image = (
        torch.from_numpy(np.asarray(Image.open(image_path).convert("RGB")).copy()).permute(2, 0, 1)
        / 255
    )
    mask = torch.from_numpy(np.asarray(Image.open(mask_path).convert("L")) > 127).float()
    resize = dict(size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(image[None].float(), **resize)[0].clamp(0, 1), F.interpolate(
        mask[None, None], **resize
    )[0, 0]
