"""Negatives capped at their own share of the batch, so a batch with few positives is left short."""

import torch

EXERCISE = "rpn.sample_labels"


def sample_labels(labels, batch_size=256, positive_fraction=0.5, generator=None):
    positive = torch.where(labels >= 1)[0]
    negative = torch.where(labels == 0)[0]
    num_pos = min(int(batch_size * positive_fraction), positive.numel())
    num_neg = min(batch_size - int(batch_size * positive_fraction), negative.numel())
    pos = positive[torch.randperm(positive.numel(), generator=generator)[:num_pos]]
    return pos, negative[torch.randperm(negative.numel(), generator=generator)[:num_neg]]
