"""Predicts one set of 4 deltas per RoI instead of 4 per class (a class-agnostic regressor)."""

import torch.nn.functional as F
from torch import nn

EXERCISE = "head.FastRCNNHead"


class FastRCNNHead(nn.Module):
    def __init__(self, in_features, num_classes, hidden=4096):
        super().__init__()
        self.fc6 = nn.Linear(in_features, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.class_logits = nn.Linear(hidden, num_classes)
        self.box_deltas = nn.Linear(hidden, 4)

    def forward(self, pooled):
        x = F.relu(self.fc7(F.relu(self.fc6(pooled.flatten(1)))))
        return self.class_logits(x), self.box_deltas(x)
