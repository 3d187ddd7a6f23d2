"""Ends the classifier with a softmax (an ``nn.Softmax`` as its last layer): the loss
then applies a second (log-)softmax and the gradients all but vanish."""

import torch.nn.functional as F
from torch import nn

EXERCISE = "head.FastRCNNHead"


class FastRCNNHead(nn.Module):
    def __init__(self, in_features, num_classes, hidden=4096):
        super().__init__()
        self.fc6 = nn.Linear(in_features, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.class_logits = nn.Linear(hidden, num_classes)
        self.box_deltas = nn.Linear(hidden, num_classes * 4)

    def forward(self, pooled):
        x = F.relu(self.fc7(F.relu(self.fc6(pooled.flatten(1)))))
        return F.softmax(self.class_logits(x), dim=1), self.box_deltas(x)
