"""The first anchors of each label, not a random draw: the top-left of every image, always."""

import torch

EXERCISE = "rpn.sample_labels"


def sample_labels(labels, batch_size=256, positive_fraction=0.5, generator=None):
    positive = torch.where(labels >= 1)[0]
    negative = torch.where(labels == 0)[0]
    num_pos = min(int(batch_size * positive_fraction), positive.numel())
    num_neg = min(batch_size - num_pos, negative.numel())
    return positive[:num_pos], negative[:num_neg]
