"""Sums raw precision at each recall step, without the running-maximum envelope."""

import torch

EXERCISE = "metrics.average_precision"


def average_precision(recall, precision):
    recall = torch.cat([recall.new_zeros(1), recall])
    return float(((recall[1:] - recall[:-1]) * precision).sum())
