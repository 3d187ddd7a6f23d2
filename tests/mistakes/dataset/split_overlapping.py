"""Test indices drawn with replacement and independently of train: the parts overlap."""

import torch

EXERCISE = "dataset.train_test_split"


def train_test_split(n, test_ratio=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    train_size = int((1 - test_ratio) * n)
    train = torch.randperm(n, generator=generator)[:train_size]
    test = torch.randint(0, max(n, 1), (n - train_size,), generator=generator)
    return train, test
