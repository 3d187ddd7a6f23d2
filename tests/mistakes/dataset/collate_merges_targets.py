"""All boxes of the batch concatenated into one target: which image owns a box is lost."""

import torch

EXERCISE = "dataset.collate_detection"


def collate_detection(batch):
    images = torch.stack([image for image, _ in batch])
    merged = {key: torch.cat([target[key] for _, target in batch]) for key in batch[0][1]}
    return images, [merged]
