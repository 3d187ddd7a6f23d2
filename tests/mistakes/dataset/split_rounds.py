"""round() instead of int(): one sample too many in train for some sizes."""

import torch

EXERCISE = "dataset.train_test_split"


def train_test_split(n, test_ratio=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)
    train_size = round((1 - test_ratio) * n)
    return order[:train_size], order[train_size:]
