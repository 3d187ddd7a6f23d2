"""No shuffle: the last indices are always the test set (a sorted folder's last files)."""

import torch

EXERCISE = "dataset.train_test_split"


def train_test_split(n, test_ratio=0.1, seed=0):
    train_size = int((1 - test_ratio) * n)
    return torch.arange(train_size), torch.arange(train_size, n)
