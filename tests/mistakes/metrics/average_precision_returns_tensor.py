"""Returns the area as a 0-d tensor: the documented return type is a Python float."""

import torch

import solutions.metrics as metrics

_original = metrics.average_precision

EXERCISE = "metrics.average_precision"


def average_precision(recall, precision):
    return torch.tensor(_original(recall, precision))
