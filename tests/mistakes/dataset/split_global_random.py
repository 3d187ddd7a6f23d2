"""A split drawn from torch's global random state: a new split every run, whatever the seed."""

import torch

EXERCISE = "dataset.train_test_split"


def train_test_split(n, test_ratio=0.1, seed=0):
    order = torch.randperm(n)
    train_size = int((1 - test_ratio) * n)
    return order[:train_size], order[train_size:]
